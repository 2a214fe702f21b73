"""The built-in accounting, support and marketing adapters pointed at the simulated silos, for tests.

* ``*_config(base_url, credentials, ...)``: the source config of each adapter for a served silo;
* ``served(name, wrap=...)``: one silo over real HTTP, optionally behind an ASGI wrapper;
* ``first_429_only``: a wrapper that switches the forced 429 off once one has been answered, so a test can
  see exactly one 429 and its retry;
* ``CallLog``: records the data requests adapters send, to count upstream calls per entity level.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.accounting import AccountingAdapter
from adapters.marketing import MarketingAdapter
from adapters.sdk.rest import RESTAdapter
from adapters.support import SupportAdapter
from silos import accounting, marketing, support
from silos.faults import Faults
from silos.limits import UNLIMITED
from silos.server import serve_app

from .silos import SEED, SiloEnv, credentials_for, silo_data

_MODULES: dict[str, Any] = {"accounting": accounting, "support": support, "marketing": marketing}


def accounting_config(base_url: str, credentials: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "realm_id": credentials.realm_id,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        **overrides,
    }


def support_config(base_url: str, credentials: Any, **overrides: Any) -> dict[str, Any]:
    return {"base_url": base_url, "email": credentials.email, "api_token": credentials.api_token, **overrides}


def marketing_config(base_url: str, credentials: Any, list_id: str, **overrides: Any) -> dict[str, Any]:
    return {"base_url": base_url, "api_key": credentials.api_key, "list_id": list_id, **overrides}


def accounting_adapter(base_url: str, credentials: Any, **overrides: Any) -> AccountingAdapter:
    adapter = AccountingAdapter.from_config(
        source="accounting", config=accounting_config(base_url, credentials, **overrides)
    )
    assert isinstance(adapter, AccountingAdapter)
    return adapter


def support_adapter(base_url: str, credentials: Any, **overrides: Any) -> SupportAdapter:
    adapter = SupportAdapter.from_config(
        source="support", config=support_config(base_url, credentials, **overrides)
    )
    assert isinstance(adapter, SupportAdapter)
    return adapter


def marketing_adapter(base_url: str, credentials: Any, list_id: str, **overrides: Any) -> MarketingAdapter:
    config = marketing_config(base_url, credentials, list_id, **overrides)
    adapter = MarketingAdapter.from_config(source="marketing", config=config)
    assert isinstance(adapter, MarketingAdapter)
    return adapter


@asynccontextmanager
async def served(
    name: str,
    *,
    data: Any = None,
    faults: Faults | None = None,
    clock: Callable[[], float] | None = None,
    wrap: Callable[[ASGIApp, Faults], ASGIApp] | None = None,
    **credential_overrides: Any,
) -> AsyncIterator[SiloEnv]:
    """One silo (the shared small data set unless ``data`` is given) served over real HTTP."""
    module = _MODULES[name]
    data = data if data is not None else getattr(silo_data(), name)
    creds = credentials_for(name, **credential_overrides)
    faults = faults if faults is not None else Faults(seed=SEED)
    extra: dict[str, Any] = {"clock": clock} if clock is not None else {}
    app = module.create_app(data, credentials=creds, faults=faults, limits=UNLIMITED, **extra)
    served_app = wrap(app, faults) if wrap is not None else app
    async with serve_app(served_app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        yield SiloEnv(base_url, client, creds, faults, data, app)


def first_429_only(app: ASGIApp, faults: Faults) -> ASGIApp:
    """``app``, but the forced 429 switches itself off after the first one went out."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 429:
                faults.update(forced_429=False)
            await send(message)

        await app(scope, receive, watch)

    return wrapped


class CallLog:
    """Every data request an adapter sends (token requests left out), with the level it reads."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def watch(self, source: str, adapter: RESTAdapter[Any]) -> None:
        adapter.http.transport = _Recording(adapter.http.transport, source, self.calls)

    def per_level(self) -> Counter[tuple[str, str]]:
        return Counter(self.calls)

    def clear(self) -> None:
        self.calls.clear()


class _Recording(httpx.AsyncBaseTransport):
    """A transport that notes each data request before passing it on."""

    def __init__(self, inner: httpx.AsyncBaseTransport, source: str, calls: list[tuple[str, str]]) -> None:
        self._inner, self._source, self._calls = inner, source, calls

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "/oauth2/" not in request.url.path:
            self._calls.append((self._source, level_of(request.url)))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def level_of(url: httpx.URL) -> str:
    """The entity level a silo request reads: the queried table, the searched type, the collection..."""
    path, query = url.path, parse_qs(url.query.decode())
    if path.endswith("/query"):
        text = query.get("query", [""])[0].lower()
        return text.split(" from ", 1)[1].split()[0] if " from " in text else "query"
    if "filter[type]" in query:
        return f"search:{query['filter[type]'][0]}"
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v2"]:
        return "/".join(parts[2:])  # organizations/show_many, users/show_many, tickets...
    if "reports" in parts:
        return "email-activity"
    if "members" in parts:
        return "members"
    if parts[:2] == ["3.0", "lists"]:
        return "list"
    return parts[-1] if parts else path
