"""Per-request DataLoaders, keyed by (source, entity[, field]).

Every resolver that needs silo data asks a loader; loads made in the same tick are batched into one
``get_many``/``find_related`` call per source and entity, so a page of 100 customers with their orders and
lines costs one upstream query per level, not one per customer. Loaders live for one request only, so
they never serve one user's data to another.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from adapters.sdk import CanonicalRecord, Entity

from .store.models import CustomerLink, HubCustomer

if TYPE_CHECKING:
    from .hub import Hub


class Loaders:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._records: dict[tuple[str, Entity], DataLoader[str, CanonicalRecord | None]] = {}
        self._related: dict[tuple[str, Entity, str], DataLoader[str, list[CanonicalRecord]]] = {}
        self.customers: DataLoader[str, HubCustomer | None] = DataLoader(self._load_customers)
        self.links: DataLoader[str, list[CustomerLink]] = DataLoader(self._load_links)

    def records(self, source: str, entity: Entity) -> DataLoader[str, CanonicalRecord | None]:
        key = (source, entity)
        loader = self._records.get(key)
        if loader is None:

            async def load(keys: Sequence[str]) -> list[CanonicalRecord | None]:
                # Settled per key: a key whose source failed (and had no stale copy) fails alone.
                return await self._hub.sources.get_many_settled(source, entity, keys)

            loader = self._records[key] = DataLoader(load)
        return loader

    def related(self, source: str, entity: Entity, by_field: str) -> DataLoader[str, list[CanonicalRecord]]:
        key = (source, entity, by_field)
        loader = self._related.get(key)
        if loader is None:

            async def load(values: Sequence[str]) -> list[list[CanonicalRecord]]:
                return await self._hub.sources.find_related_settled(source, entity, by_field, values)

            loader = self._related[key] = DataLoader(load)
        return loader

    async def _load_customers(self, ids: Sequence[str]) -> list[HubCustomer | None]:
        async with self._hub.db.session() as session:
            rows = (await session.scalars(select(HubCustomer).where(HubCustomer.id.in_(ids)))).all()
            found = {row.id: row for row in rows}
            # A merged-away id resolves to the customer it was merged into.
            targets = {row.merged_into for row in rows if row.merged_into and row.merged_into not in found}
            if targets:
                extra = await session.scalars(select(HubCustomer).where(HubCustomer.id.in_(targets)))
                found.update({row.id: row for row in extra})
        result: list[HubCustomer | None] = []
        for customer_id in ids:
            row = found.get(customer_id)
            hops = 0
            while row is not None and row.merged_into and hops < 8:
                row, hops = found.get(row.merged_into), hops + 1
            result.append(row)
        return result

    async def _load_links(self, ids: Sequence[str]) -> list[list[CustomerLink]]:
        async with self._hub.db.session() as session:
            rows = await session.scalars(
                select(CustomerLink)
                .where(CustomerLink.hub_customer_id.in_(ids))
                .order_by(CustomerLink.hub_customer_id, CustomerLink.id)
            )
            grouped: dict[str, list[CustomerLink]] = {}
            for row in rows:
                grouped.setdefault(row.hub_customer_id, []).append(row)
        return [grouped.get(customer_id, []) for customer_id in ids]
