"""Seeding the identity map: every customer record of a seed source that no link claims yet becomes a hub
customer of its own; the snapshot (name, search text, country) of linked customers is refreshed.

Cross-silo matching builds on this: a matcher links further records to these customers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select, update

from adapters.sdk import CustomerRecord, Entity

from ..hub import Hub
from ..store.models import CustomerLink, HubCustomer, utcnow
from .ids import hub_customer_id

BATCH = 1000


def search_text(record: CustomerRecord) -> str:
    parts = [record.name, record.legal_name, record.email, record.phone, record.tax_id]
    return " ".join(p.lower() for p in parts if p)[:1000]


@dataclass
class SeedReport:
    records_read: dict[str, int] = field(default_factory=dict)
    created: int = 0
    refreshed: int = 0
    seconds: float = 0.0


async def seed_identity_map(hub: Hub, *, since: datetime | None = None) -> SeedReport:
    started = time.perf_counter()
    report = SeedReport()
    for source in hub.settings.identity.seed_sources:
        async with hub.db.session() as session:
            rows = await session.execute(
                select(CustomerLink.external_id, CustomerLink.hub_customer_id).where(
                    CustomerLink.source == source, CustomerLink.entity == Entity.CUSTOMER.value
                )
            )
            known: dict[str, str] = {external_id: hub_id for external_id, hub_id in rows}
        batch: list[CustomerRecord] = []
        count = 0
        async for record in hub.sources.scan(source, Entity.CUSTOMER, since):
            assert isinstance(record, CustomerRecord)
            batch.append(record)
            count += 1
            if len(batch) >= BATCH:
                await _apply(hub, source, batch, known, report)
                batch = []
        if batch:
            await _apply(hub, source, batch, known, report)
        report.records_read[source] = count
    report.seconds = time.perf_counter() - started
    return report


async def _apply(
    hub: Hub, source: str, records: list[CustomerRecord], known: dict[str, str], report: SeedReport
) -> None:
    now = utcnow()
    async with hub.db.transaction() as session:
        new_customers, new_links, refreshed = [], [], []
        for record in records:
            snapshot = {
                "display_name": record.name[:300],
                "search_text": search_text(record),
                "country": (record.address.country if record.address else None),
            }
            hub_id = known.get(record.external_id)
            if hub_id is None:
                hub_id = hub_customer_id(source, record.external_id)
                known[record.external_id] = hub_id
                new_customers.append({"id": hub_id, "created_at": now, "updated_at": now, **snapshot})
                new_links.append(
                    {
                        "hub_customer_id": hub_id,
                        "source": source,
                        "entity": Entity.CUSTOMER.value,
                        "external_id": record.external_id,
                        "rule": "seed",
                        "score": 1.0,
                        "manual": False,
                        "linked_at": now,
                    }
                )
            else:
                refreshed.append({"id": hub_id, "updated_at": now, **snapshot})
        if refreshed:
            # ORM bulk UPDATE by primary key: one executemany, not one statement per customer.
            await session.execute(update(HubCustomer), refreshed)
            report.refreshed += len(refreshed)
        if new_customers:
            await session.execute(insert(HubCustomer), new_customers)
            await session.execute(insert(CustomerLink), new_links)
            report.created += len(new_customers)
