"""Run silos as real HTTP servers on 127.0.0.1 inside the current event loop.

``serve_app`` (the adapter SDK's ``serve_asgi``, one embedded server for the whole code base) starts one
app on an ephemeral port (or a given one) and yields its base URL::

    async with serve_app(app) as base_url:
        ...

``run_silos`` builds the accounting, support and marketing data for ``(size, seed)`` and serves all three::

    async with run_silos(200, seed=42) as silos:
        silos.accounting.base_url, silos.accounting.credentials
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette

from adapters.sdk.asgi_server import serve_asgi as serve_app

from . import accounting, marketing, support
from .faults import Faults
from .limits import UNLIMITED, RateLimit
from .world import ErpFactory, World, default_erp_factory

__all__ = ["RunningSilos", "SiloHandle", "run_silos", "serve_app"]


@dataclass
class SiloHandle:
    """One running silo: where it is, how to authenticate, and its live ``Faults``."""

    name: str
    base_url: str
    credentials: Any
    faults: Faults
    app: Starlette
    data: Any

    def describe(self) -> dict[str, Any]:
        creds = self.credentials
        if self.name == "accounting":
            return {
                "base_url": self.base_url,
                "token_url": f"{self.base_url}/oauth2/v1/tokens/bearer",
                "realm_id": creds.realm_id,
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
            }
        if self.name == "support":
            return {"base_url": self.base_url, "email": creds.email, "api_token": creds.api_token}
        return {"base_url": self.base_url, "api_key": creds.api_key, "list_id": self.data.list_id}


@dataclass
class RunningSilos:
    world: World
    accounting: SiloHandle
    support: SiloHandle
    marketing: SiloHandle
    build_seconds: dict[str, float] = field(default_factory=dict)

    def __iter__(self) -> Iterator[SiloHandle]:
        return iter((self.accounting, self.support, self.marketing))

    def describe(self) -> dict[str, Any]:
        return {handle.name: handle.describe() for handle in self}


def _build(world: World) -> dict[str, Any]:
    return {
        "accounting": accounting.AccountingData.build(world),
        "support": support.SupportData.build(world),
        "marketing": marketing.MarketingData.build(world),
    }


@asynccontextmanager
async def run_silos(
    size: int,
    seed: int = 42,
    *,
    realistic_limits: bool = False,
    ports: tuple[int, int, int] = (0, 0, 0),
    erp_factory: ErpFactory = default_erp_factory,
) -> AsyncIterator[RunningSilos]:
    """Build the three data sets (in a worker thread, so the loop stays responsive) and serve them.

    ``realistic_limits`` turns on the products' request limits (500/min, 700/min, 10 connections); off by
    default so demos and benchmarks measure the hub rather than the throttling.
    """
    world = World(size, seed=seed, erp_factory=erp_factory)
    data = await asyncio.to_thread(_build, world)
    specs = (
        ("accounting", accounting, accounting.AccountingCredentials.for_seed(seed), accounting.DEFAULT_LIMIT),
        ("support", support, support.SupportCredentials.for_seed(seed), support.DEFAULT_LIMIT),
        ("marketing", marketing, marketing.MarketingCredentials.for_seed(seed), marketing.DEFAULT_LIMIT),
    )
    async with AsyncExitStack() as stack:
        handles: dict[str, SiloHandle] = {}
        for (name, module, credentials, limit), port in zip(specs, ports, strict=True):
            faults = Faults(seed=seed)
            limits: RateLimit = limit if realistic_limits else UNLIMITED
            app = module.create_app(data[name], credentials=credentials, faults=faults, limits=limits)
            base_url = await stack.enter_async_context(serve_app(app, port=port))
            handles[name] = SiloHandle(name, base_url, credentials, faults, app, data[name])
        yield RunningSilos(
            world=world,
            build_seconds={name: value.build_seconds for name, value in data.items()},
            **handles,
        )
