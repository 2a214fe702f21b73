"""Hubs for identity-resolution tests: in-memory sources (``bench.memory_source``) with hand-made records."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from adapters.sdk import Address, CanonicalRecord, Contact, CustomerRecord, MarketingMember
from bench.memory_source import MemorySource, registry
from bench.memory_source import config as memory_config
from hub.config import load_settings
from hub.hub import Hub
from hub.store.models import CustomerLink, HubCustomer

_counter = itertools.count()
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def customer(source: str, external_id: str, name: str, *, updated: int = 0, **fields: Any) -> CustomerRecord:
    address = fields.pop("address", None)
    return CustomerRecord(
        source=source,
        external_id=external_id,
        name=name,
        address=Address(**address) if address else None,
        updated_at=T0 + dt.timedelta(hours=updated),
        **fields,
    )


def member(source: str, email: str, *, updated: int = 0, **fields: Any) -> MarketingMember:
    return MarketingMember(
        source=source,
        external_id=email.lower(),
        email=email,
        status="subscribed",
        updated_at=T0 + dt.timedelta(hours=updated),
        **fields,
    )


def contact(source: str, external_id: str, customer_id: str, *, updated: int = 0, **fields: Any) -> Contact:
    return Contact(
        source=source,
        external_id=external_id,
        customer_external_id=customer_id,
        updated_at=T0 + dt.timedelta(hours=updated),
        **fields,
    )


class Datasets:
    """Unique dataset names per test, so parallel hubs never share records."""

    def __init__(self, records: Mapping[str, Iterable[CanonicalRecord]]) -> None:
        run = next(_counter)
        self.names = {source: f"t{run}-{source}" for source in records}
        for source, found in records.items():
            MemorySource.register(self.names[source], found)

    def replace(self, source: str, records: Iterable[CanonicalRecord]) -> None:
        MemorySource.register(self.names[source], records)

    def upsert(self, source: str, records: Iterable[CanonicalRecord]) -> None:
        MemorySource.upsert(self.names[source], records)


@asynccontextmanager
async def identity_hub(
    directory: Path,
    records: Mapping[str, Iterable[CanonicalRecord]],
    *,
    identity: Mapping[str, Any] | None = None,
    database_url: str | None = None,
    cache: Mapping[str, Any] | None = None,
) -> AsyncIterator[tuple[Hub, Datasets]]:
    datasets = Datasets(records)
    body: dict[str, Any] = {
        "database_url": database_url or f"sqlite+aiosqlite:///{directory / 'hub.sqlite'}",
        "identity": {"seed_sources": [next(iter(records))], **(identity or {})},
        "sources": [memory_config(source, datasets.names[source]) for source in records],
    }
    if cache is not None:
        body["cache"] = dict(cache)
    path = directory / "crmhub.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    hub = await Hub.start(load_settings(path), registry=registry())
    try:
        yield hub, datasets
    finally:
        await hub.aclose()


async def links_by_record(hub: Hub) -> dict[tuple[str, str, str], CustomerLink]:
    async with hub.db.session() as session:
        rows = await session.scalars(select(CustomerLink))
        return {(r.source, r.entity, r.external_id): r for r in rows}


async def customer_of(hub: Hub, source: str, external_id: str, entity: str = "customer") -> str | None:
    link = (await links_by_record(hub)).get((source, entity, external_id))
    return link.hub_customer_id if link else None


async def customers(hub: Hub) -> dict[str, HubCustomer]:
    async with hub.db.session() as session:
        return {row.id: row for row in await session.scalars(select(HubCustomer))}


async def clusters(hub: Hub) -> set[frozenset[tuple[str, str]]]:
    """Linked records per customer as ``{(source, external_id)}`` sets."""
    grouped: dict[str, set[tuple[str, str]]] = {}
    for key, link in (await links_by_record(hub)).items():
        grouped.setdefault(link.hub_customer_id, set()).add((key[0], key[2]))
    return {frozenset(v) for v in grouped.values()}
