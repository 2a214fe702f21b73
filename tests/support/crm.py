"""Hubs for the CRM tests: one per test module and backend (SQLite file or a fresh PostgreSQL database),
with or without the ERP silo behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.config import load_settings
from hub.context import RequestContext
from hub.hub import Hub
from hub.identity import seed_identity_map
from hub.store.models import HubCustomer, utcnow

from .servers import fresh_pg_database

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@asynccontextmanager
async def crm_hub(
    directory: Path, backend: str, *, sources: list[dict[str, Any]] | None = None
) -> AsyncIterator[Hub]:
    """A started hub on ``backend`` (its identity map seeded when ``sources`` are given)."""
    if backend == "postgres":
        async with fresh_pg_database("crmhub_crm") as url, _started(directory, url, sources) as hub:
            yield hub
    else:
        async with _started(directory, f"sqlite+aiosqlite:///{directory / 'hub.sqlite'}", sources) as hub:
            yield hub


@asynccontextmanager
async def _started(directory: Path, url: str, sources: list[dict[str, Any]] | None) -> AsyncIterator[Hub]:
    config = directory / "crmhub.yaml"
    seeds = [s["name"] for s in sources or []]
    config.write_text(
        yaml.safe_dump({"database_url": url, "identity": {"seed_sources": seeds}, "sources": sources or []})
    )
    hub = await Hub.start(load_settings(config))
    try:
        if sources:
            await seed_identity_map(hub)
        yield hub
    finally:
        await hub.aclose()


def ctx_for(hub: Hub, actor: str = "tester") -> RequestContext:
    ctx = RequestContext.for_hub(hub)
    ctx.actor = actor
    return ctx


async def add_customer(
    hub: Hub, customer_id: str, name: str, *, country: str | None = None, search_text: str = ""
) -> HubCustomer:
    """A hub customer without silo records (what identity resolution would have created)."""
    now = utcnow()
    row = HubCustomer(
        id=customer_id,
        display_name=name,
        search_text=search_text or name.lower(),
        country=country,
        created_at=now,
        updated_at=now,
    )
    async with hub.db.transaction() as session:
        session.add(row)
    return row
