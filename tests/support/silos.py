"""Shared set-up for the silo tests: one small world per session, and running silos with an HTTP client."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from silos import accounting, marketing, support
from silos.faults import Faults
from silos.limits import UNLIMITED, RateLimit
from silos.server import serve_app
from silos.world import World

#: Small enough to build in well under a second, large enough for several pages everywhere.
SIZE = 60
SEED = 7


@dataclass(frozen=True)
class SiloData:
    world: World
    accounting: accounting.AccountingData
    support: support.SupportData
    marketing: marketing.MarketingData


@functools.cache
def silo_data(size: int = SIZE, seed: int = SEED) -> SiloData:
    world = World(size, seed=seed)
    return SiloData(
        world,
        accounting.AccountingData.build(world),
        support.SupportData.build(world),
        marketing.MarketingData.build(world),
    )


@dataclass
class SiloEnv:
    base_url: str
    client: httpx.AsyncClient
    credentials: Any
    faults: Faults
    data: Any
    app: Any


_MODULES = {"accounting": accounting, "support": support, "marketing": marketing}


def credentials_for(name: str, seed: int = SEED, **overrides: Any) -> Any:
    factory: Callable[[int], Any] = {
        "accounting": accounting.AccountingCredentials.for_seed,
        "support": support.SupportCredentials.for_seed,
        "marketing": marketing.MarketingCredentials.for_seed,
    }[name]
    creds = factory(seed)
    if overrides:
        creds = type(creds)(**{**creds.__dict__, **overrides})
    return creds


@asynccontextmanager
async def running_silo(
    name: str,
    *,
    data: Any = None,
    limits: RateLimit = UNLIMITED,
    faults: Faults | None = None,
    clock: Callable[[], float] | None = None,
    **credential_overrides: Any,
) -> AsyncIterator[SiloEnv]:
    """Serve one silo over real HTTP; the client is bound to its base URL."""
    module = _MODULES[name]
    data = data if data is not None else getattr(silo_data(), name)
    creds = credentials_for(name, **credential_overrides)
    faults = faults if faults is not None else Faults(seed=SEED)
    extra: dict[str, Any] = {"clock": clock} if clock is not None else {}
    app = module.create_app(data, credentials=creds, faults=faults, limits=limits, **extra)
    async with serve_app(app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        yield SiloEnv(base_url, client, creds, faults, data, app)


class FakeClock:
    """A monotonic clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
