"""A hub over four silos for the benchmarks: the ERP through the SQL adapter (with an injected latency, as
the ERP is a local SQLite file) and the accounting, support and marketing silos served over HTTP by a
separate process (``python -m silos``, as remote systems would be) and read with the built-in adapters.
Hub customers seeded from the ERP are linked to the i-th record of each other silo, so every customer 360
reads all four silos."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import insert, select

from adapters.accounting import AccountingAdapter
from adapters.marketing import MarketingAdapter
from adapters.sdk import AdapterRegistry, CanonicalRecord, Entity
from adapters.sql import SQLAdapter
from adapters.support import SupportAdapter
from hub.config import load_settings
from hub.hub import Hub
from hub.identity import seed_identity_map
from hub.runtime import settle_after_startup
from hub.store.models import CustomerLink, HubCustomer
from silos.erp import MAPPING_PATH as ERP_MAPPING
from silos.erp.database import ensure_sqlite
from silos.world import World

#: One round to all four silos: profile (ERP, accounting, support), ERP lists, invoices, tickets, members.
#: (Campaign activity is left out: it is found by the members' e-mail addresses, so it needs a second round.)
CUSTOMER_360 = """query Customer360($id: ID!) { customer(id: $id) {
    id name email phone website
    address { city country }
    contacts { firstName lastName email }
    creditTerms { creditLimit paymentTermsDays }
    orders(first: 10) { totalCount edges { node { number total status } } }
    invoices { number total balance }
    tickets { subject status }
    marketing { subscribed lists { email status } }
} }"""


class SlowSQLAdapter(SQLAdapter):
    """The SQL adapter with a fixed delay per call, standing in for an ERP database across a network."""

    name = "slow_sql"
    delay_seconds = 0.0

    async def get_many(self, entity: Entity, keys: Sequence[str]) -> list[CanonicalRecord | None]:
        await asyncio.sleep(self.delay_seconds)
        return await super().get_many(entity, keys)

    async def find_related(
        self, entity: Entity, by_field: str, values: Sequence[str]
    ) -> list[list[CanonicalRecord]]:
        await asyncio.sleep(self.delay_seconds)
        return await super().find_related(entity, by_field, values)


REGISTRY = AdapterRegistry(
    {
        "slow_sql": SlowSQLAdapter,
        "accounting": AccountingAdapter,
        "support": SupportAdapter,
        "marketing": MarketingAdapter,
    }
)


@dataclass
class Fleet:
    hub: Hub
    silos: dict[str, Any]
    customers: list[str]


@asynccontextmanager
async def external_silos(size: int, seed: int) -> AsyncIterator[dict[str, Any]]:
    """``python -m silos`` in a process of its own; yields its URLs and credentials."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "silos",
        "--size",
        str(size),
        "--seed",
        str(seed),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        lines: list[bytes] = []
        while not lines or lines[-1] != b"}\n":
            line = await process.stdout.readline()
            if not line:
                raise RuntimeError("the silo process stopped before announcing its URLs")
            lines.append(line)
        yield json.loads(b"".join(lines))
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)


async def set_latency(silos: dict[str, Any], latency_ms: float) -> None:
    async with httpx.AsyncClient() as client:
        for name in ("accounting", "support", "marketing"):
            response = await client.post(
                f"{silos[name]['base_url']}/_silo/faults", json={"latency_ms": latency_ms}
            )
            response.raise_for_status()


def _sources(erp: Path, silos: dict[str, Any]) -> list[dict[str, Any]]:
    accounting, support, marketing = silos["accounting"], silos["support"], silos["marketing"]
    http = {"max_attempts": 1, "max_concurrency": 32}
    return [
        {
            "name": "erp",
            "adapter": "slow_sql",
            "config": {"url": f"sqlite+aiosqlite:///{erp}", "mapping": str(ERP_MAPPING)},
        },
        {
            "name": "accounting",
            "adapter": "accounting",
            "config": {
                "base_url": accounting["base_url"],
                "realm_id": accounting["realm_id"],
                "client_id": accounting["client_id"],
                "client_secret": accounting["client_secret"],
                **http,
            },
        },
        {
            "name": "support",
            "adapter": "support",
            "config": {
                "base_url": support["base_url"],
                "email": support["email"],
                "api_token": support["api_token"],
                **http,
            },
        },
        {
            "name": "marketing",
            "adapter": "marketing",
            "config": {
                "base_url": marketing["base_url"],
                "api_key": marketing["api_key"],
                "list_id": marketing["list_id"],
                **http,
            },
        },
    ]


def _silo_keys(size: int, seed: int) -> tuple[list[str], list[str], list[str]]:
    """The record keys of each silo, rebuilt here from the same deterministic world as the silo process."""
    from silos import accounting, marketing, support

    world = World(size, seed=seed)
    return (
        [str(c.id) for c in accounting.AccountingData.build(world).customers],
        [str(o.id) for o in support.SupportData.build(world).organizations],
        [m.id for m in marketing.MarketingData.build(world).members],
    )


async def _link(hub: Hub, size: int, seed: int) -> list[str]:
    """Customers linked to a record of every other silo: the identity map's own links where it made them,
    the i-th still unlinked record of each silo otherwise."""
    keys = dict(
        zip(
            ("accounting", "support", "marketing"),
            await asyncio.to_thread(_silo_keys, size, seed),
            strict=True,
        )
    )
    entities = {"accounting": "customer", "support": "customer", "marketing": "marketing_member"}
    async with hub.db.session() as session:
        ids = list(await session.scalars(select(HubCustomer.id).order_by(HubCustomer.id)))
        existing = list(
            await session.execute(
                select(CustomerLink.hub_customer_id, CustomerLink.source, CustomerLink.external_id)
            )
        )
    linked: dict[str, set[str]] = {}
    taken: dict[str, set[str]] = {source: set() for source in keys}
    for customer_id, source, external_id in existing:
        linked.setdefault(customer_id, set()).add(source)
        if source in taken:
            taken[source].add(external_id)
    free = {source: [k for k in values if k not in taken[source]] for source, values in keys.items()}
    rows = []
    for customer_id in ids:
        for source, entity in entities.items():
            if source in linked.get(customer_id, set()) or not free[source]:
                continue
            rows.append(
                {
                    "hub_customer_id": customer_id,
                    "source": source,
                    "entity": entity,
                    "external_id": free[source].pop(0),
                    "rule": "bench",
                    "score": 1.0,
                    "manual": False,
                }
            )
            linked.setdefault(customer_id, set()).add(source)
    if rows:
        async with hub.db.transaction() as session:
            await session.execute(insert(CustomerLink), rows)
    return [customer_id for customer_id in ids if set(entities) <= linked.get(customer_id, set())]


@asynccontextmanager
async def silo_fleet(
    directory: Path,
    *,
    size: int = 60,
    seed: int = 42,
    latency_ms: float = 0.0,
    cache: dict[str, Any] | None = None,
    security: dict[str, Any] | None = None,
) -> AsyncIterator[Fleet]:
    erp = await asyncio.to_thread(ensure_sqlite, directory / "erp.sqlite", size=size, seed=seed)
    async with external_silos(size, seed) as silos:
        await set_latency(silos, latency_ms)
        SlowSQLAdapter.delay_seconds = latency_ms / 1000
        body = {
            "database_url": f"sqlite+aiosqlite:///{directory / 'hub.sqlite'}",
            "identity": {"seed_sources": ["erp"]},
            "sources": _sources(erp, silos),
            "cache": cache or {"enabled": False},
            "resilience": {"request_deadline_seconds": 10, "defaults": {"timeout_seconds": 5}},
            # The load comes from one client: a per-principal rate limit would measure the limiter.
            "security": {"rate_limit": {"enabled": False}, **(security or {})},
        }
        config = directory / "crmhub.yaml"
        config.write_text(yaml.safe_dump(body, sort_keys=False))
        hub = await Hub.start(load_settings(config), registry=REGISTRY)
        try:
            await seed_identity_map(hub)
            customers = await _link(hub, size, seed)
            settle_after_startup()  # as the server does once its hub has started (hub/runtime.py)
            yield Fleet(hub, silos, customers)
        finally:
            await hub.aclose()
