"""The HTTP layer of REST adapters: one pooled client per source, Retry-After handling, error translation.

Every upstream failure leaves this module as one of the SDK's typed errors, and no message names a
credential: URLs are shown without userinfo or query string, and transport errors by type only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeAlias
from urllib.parse import urlencode

import httpx

from ..errors import (
    AdapterError,
    MalformedResponseError,
    UpstreamAuthError,
    UpstreamRateLimitedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from .exchange import FixedHeadersAuth, exchange
from .transport import UpstreamTransport
from .urls import RequestUrls

#: Query parameters; a sequence value is sent as a repeated parameter (``?id=1&id=2``).
Params: TypeAlias = Mapping[str, "str | Sequence[str]"]


@dataclass(frozen=True)
class PageRequest:
    """One upstream request, as paginators and batch strategies describe it.

    ``url`` is relative to the source's base URL or absolute (a paginator following a ``next`` link).
    ``state`` is never sent: paginators keep their position there (an offset, a page number).
    """

    url: str
    params: Params = field(default_factory=dict)
    method: str = "GET"
    json_body: Any = None
    state: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def with_params(self, **updates: str | Sequence[str]) -> PageRequest:
        return PageRequest(self.url, {**self.params, **updates}, self.method, self.json_body, self.state)

    def fingerprint(self) -> str:
        """A stable identity, so a scan notices when a paginator asks for the same page twice."""
        params = sorted((k, v if isinstance(v, str) else ",".join(v)) for k, v in self.params.items())
        body = "null" if self.json_body is None else json.dumps(self.json_body, sort_keys=True, default=str)
        return f"{self.method} {self.url} {params} {body}"


@dataclass(frozen=True)
class PageResponse:
    """A decoded upstream answer: the JSON body, the headers and the URL that produced it."""

    body: Any
    headers: httpx.Headers
    url: httpx.URL


def redact_url(url: httpx.URL | str) -> str:
    """``scheme://host[:port]/path``: userinfo and query strings may hold credentials, so they never show."""
    parsed = httpx.URL(str(url))
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header (delay-seconds or HTTP-date); None if absent."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """How to live with 429s: honour ``Retry-After`` while it stays within budget, then give up."""

    max_attempts: int = 3
    max_wait_seconds: float = 30.0
    #: Wait used when a 429 carries no ``Retry-After``; doubled on every further attempt.
    default_wait_seconds: float = 1.0


class UpstreamClient:
    """The HTTP side of one source: requests built from ``PageRequest``s, sent on one pooled transport
    (opened on first use, closed by ``aclose``) through ``exchange``, answers decoded or turned into errors.

    ``requests_sent`` counts every request put on the wire for data (retries included, token requests of
    an authenticator excluded), which is what tests and benchmarks use to prove batching.
    """

    def __init__(
        self,
        base_url: str,
        *,
        source: str,
        auth: httpx.Auth | None = None,
        timeout_seconds: float = 10.0,
        connect_timeout_seconds: float | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        max_concurrency: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.source = source
        self.retry = retry or RetryPolicy()
        self.requests_sent = 0
        self._auth = auth
        timeout = httpx.Timeout(timeout_seconds, connect=connect_timeout_seconds or timeout_seconds)
        self._extensions = {"timeout": timeout.as_dict()}
        default_headers = _merged({"Accept": "application/json"}, headers or {})
        self._transport = transport
        self._gate = asyncio.Semaphore(max_concurrency)
        base = httpx.URL(base_url)
        if base.userinfo:
            # As httpx's client does: credentials in the base URL become Basic auth (unless auth is given).
            self._auth = auth or httpx.BasicAuth(base.username, base.password)
            base = base.copy_with(username=None, password=None)
        fixed = self._auth.fixed_headers() if isinstance(self._auth, FixedHeadersAuth) else None
        if fixed is not None:
            default_headers = _merged(default_headers, fixed)
            self._auth = None
        # Built once: httpx copies a ``Headers`` as it is, where a dict is validated and encoded per request.
        self._headers = httpx.Headers(default_headers)
        prefix = str(base)
        self._base_prefix = prefix if prefix.endswith("/") else prefix + "/"
        self._urls = RequestUrls()

    @property
    def transport(self) -> httpx.AsyncBaseTransport:
        """The transport requests go out on: the one given, else aiohttp's pool, opened on first use."""
        if self._transport is None:
            self._transport = UpstreamTransport()
        return self._transport

    @transport.setter
    def transport(self, transport: httpx.AsyncBaseTransport) -> None:
        # A wrapper around the current transport (a test recording requests, say); aclose closes it.
        self._transport = transport

    def absolute_url(self, url: str | httpx.URL) -> httpx.URL:
        """``url`` resolved as requests resolve it: relative URLs extend the base URL's path."""
        target = httpx.URL(str(url))
        return target if target.is_absolute_url else httpx.URL(self._base_prefix + str(url).lstrip("/"))

    def _target(self, request: PageRequest) -> httpx.URL:
        """The absolute request URL with its params, parsed once (URL parsing is a noticeable share of a
        call's CPU); a query the URL already has is kept and the params are merged into it."""
        url = request.url if "://" in request.url else self._base_prefix + request.url.lstrip("/")
        query = _query_pairs(request.params)
        if "?" in url:  # a link that has a query of its own: the params are merged into it
            return httpx.URL(url).copy_merge_params(httpx.QueryParams(query)) if query else httpx.URL(url)
        return self._urls.url(url, _encode_query(query) if query else "")

    async def aclose(self) -> None:
        if self._transport is not None:
            transport, self._transport = self._transport, None
            await transport.aclose()

    async def send(self, request: PageRequest, *, entity: str | None = None) -> PageResponse:
        """Send ``request`` (retrying 429s within the policy) and decode its JSON body."""
        delay = self.retry.default_wait_seconds
        for attempt in range(1, self.retry.max_attempts + 1):
            response = await self._send_once(request, entity)
            if response.status_code != 429:
                return self._decode(response, entity)
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait is None:
                wait, delay = delay, delay * 2
            if attempt == self.retry.max_attempts or wait > self.retry.max_wait_seconds:
                raise UpstreamRateLimitedError(
                    f"{request.method} {redact_url(response.url)} answered 429 after {attempt} attempt(s); "
                    f"asked to wait {wait:.1f}s (budget {self.retry.max_wait_seconds:.1f}s)",
                    retry_after=wait,
                    source=self.source,
                    entity=entity,
                )
            await asyncio.sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def _send_once(self, request: PageRequest, entity: str | None) -> httpx.Response:
        async with self._gate:
            self.requests_sent += 1
            try:
                outgoing = httpx.Request(
                    request.method,
                    self._target(request),
                    headers=self._headers,
                    json=request.json_body,
                    extensions=self._extensions,
                )
                return await exchange(self.transport, outgoing, self._auth)
            except AdapterError as exc:  # raised by an authenticator's own flow
                exc.source = exc.source or self.source
                exc.entity = exc.entity or entity
                raise
            except httpx.TimeoutException as exc:
                target = redact_url(self.absolute_url(request.url))
                raise UpstreamTimeoutError(
                    f"{request.method} {target} timed out ({type(exc).__name__})",
                    source=self.source,
                    entity=entity,
                ) from None
            except httpx.HTTPError as exc:
                target = redact_url(self.absolute_url(request.url))
                raise UpstreamUnavailableError(
                    f"{request.method} {target} failed ({type(exc).__name__})",
                    source=self.source,
                    entity=entity,
                ) from None

    def _decode(self, response: httpx.Response, entity: str | None) -> PageResponse:
        status = response.status_code
        if 200 <= status < 300:
            try:
                body = _json(response.content)
            except ValueError:
                kind = response.headers.get("Content-Type", "no content type")
                raise MalformedResponseError(
                    f"{_where(response)} answered {status} with a body that is not JSON ({kind})",
                    source=self.source,
                    entity=entity,
                ) from None
            return PageResponse(body=body, headers=response.headers, url=response.url)
        where = _where(response)
        if status in (401, 403):
            raise UpstreamAuthError(
                f"{where} rejected the configured credentials ({status})", source=self.source, entity=entity
            )
        if status >= 500:
            raise UpstreamUnavailableError(f"{where} answered {status}", source=self.source, entity=entity)
        if status >= 400:
            raise AdapterError(f"{where} refused the request ({status})", source=self.source, entity=entity)
        # A 1xx or 3xx that reached here: redirects are followed, so this one could not be.
        raise MalformedResponseError(
            f"{where} answered {status} without a followable redirect", source=self.source, entity=entity
        )


def _json(content: bytes) -> Any:
    # The stdlib, not orjson: orjson turns integers beyond 64 bits into floats, and an upstream id of that
    # size would silently change; the decoding costs little next to the request itself.
    return json.loads(content) if content else None


def _where(response: httpx.Response) -> str:
    """How an error names the request; built only when there is an error to report."""
    return f"{response.request.method} {redact_url(response.url)}"


def _merged(headers: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with ``overrides`` replacing any header of the same name, whatever its case."""
    replaced = {name.lower() for name in overrides}
    return {**{k: v for k, v in headers.items() if k.lower() not in replaced}, **overrides}


def _encode_query(pairs: list[tuple[str, str | int | float | bool | None]]) -> str:
    """``pairs`` encoded as httpx's ``QueryParams`` encodes them (the stdlib's ``urlencode`` of values
    written as httpx writes them), without building the ``QueryParams`` object."""
    return urlencode([(name, _as_text(value)) for name, value in pairs])


def _as_text(value: str | int | float | bool | None) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _query_pairs(params: Params) -> list[tuple[str, str | int | float | bool | None]]:
    query: list[tuple[str, str | int | float | bool | None]] = []
    for name, value in params.items():
        if isinstance(value, str):
            query.append((name, value))
        else:
            query.extend((name, item) for item in value)
    return query
