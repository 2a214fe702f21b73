"""A hub over the ERP (SQL) and the simulated support desk (REST), for the caching and resilience tests.

The desk is read by the built-in support adapter: organizations are customers, tickets are found by
organization.
Hub customers seeded from the ERP are linked by hand to the desk's organizations (the i-th customer listed
to the i-th organization): what matters here is how failures surface, not who matches whom.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select

from adapters.sdk import AdapterRegistry
from adapters.sql import SQLAdapter
from adapters.support import SupportAdapter
from hub.config import load_settings
from hub.hub import Hub
from hub.identity import seed_identity_map
from hub.store.models import CustomerLink, HubCustomer

from .hub import erp_source, write_config

REGISTRY = AdapterRegistry({"sql": SQLAdapter, "support": SupportAdapter})


def desk_source(base_url: str, credentials: Any, **extra: Any) -> dict[str, Any]:
    config = {
        "base_url": base_url,
        "email": credentials.email,
        "api_token": credentials.api_token,
        # The hub retries with its own deadline-aware policy; the toolkit's own 429 retries would wait
        # (Retry-After) without knowing the request deadline.
        "max_attempts": 1,
        **extra,
    }
    return {"name": "support", "adapter": "support", "config": config}


async def link_desk(hub: Hub, organization_ids: list[int]) -> list[str]:
    """Link the first hub customers (in listing order) to the given desk organizations; returns their ids."""
    async with hub.db.session() as session:
        ids = list(
            await session.scalars(
                select(HubCustomer.id)
                .order_by(HubCustomer.display_name, HubCustomer.id)
                .limit(len(organization_ids))
            )
        )
    rows = [
        {
            "hub_customer_id": cid,
            "source": "support",
            "entity": "customer",
            "external_id": str(org),
            "rule": "test",
            "score": 1.0,
            "manual": False,
        }
        for cid, org in zip(ids, organization_ids, strict=False)
    ]
    async with hub.db.transaction() as session:
        # The identity map may have matched desk organizations on its own; these tests choose the links.
        await session.execute(delete(CustomerLink).where(CustomerLink.source == "support"))
        await session.execute(insert(CustomerLink), rows)
    return ids


@asynccontextmanager
async def desk_hub(
    directory: Path,
    erp_sqlite: Path,
    desk: Any,
    *,
    organizations: list[int],
    desk_config: dict[str, Any] | None = None,
    **settings: Any,
) -> AsyncIterator[tuple[Hub, list[str]]]:
    """A running hub over the ERP and the desk served at ``desk.base_url``, with customers linked."""
    config = write_config(
        directory,
        database_url=f"sqlite+aiosqlite:///{directory / 'hub.sqlite'}",
        sources=[
            erp_source(f"sqlite+aiosqlite:///{erp_sqlite}"),
            desk_source(desk.base_url, desk.credentials, **(desk_config or {})),
        ],
        **settings,
    )
    hub = await Hub.start(load_settings(config), registry=REGISTRY)
    try:
        await seed_identity_map(hub)
        customers = await link_desk(hub, organizations)
        yield hub, customers
    finally:
        await hub.aclose()


def attempts(hub: Hub, source: str) -> dict[tuple[str, str], float]:
    """Reads made from ``source`` so far, per (entity, operation), whatever each cost in HTTP requests
    (circuit-open rejections never reached the adapter and are not counted, nor are scans)."""
    counts: dict[tuple[str, str], float] = {}
    for metric in hub.metrics.upstream_requests.collect():
        for sample in metric.samples:
            labels = sample.labels
            if (
                sample.name.endswith("_total")
                and labels["source"] == source
                and labels["outcome"] != "circuit_open"
                and labels["operation"] != "scan"  # the identity map's scans at start-up
            ):
                key = (labels["entity"], labels["operation"])
                counts[key] = counts.get(key, 0) + sample.value
    return counts


def retries(hub: Hub, source: str) -> float:
    return sum(
        sample.value
        for metric in hub.metrics.upstream_retries.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["source"] == source
    )
