"""Per-request DataLoaders, keyed by (source, entity[, field]).

Every resolver that needs silo data asks a loader; loads made in the same tick are batched into one
``get_many``/``find_related`` call per source and entity, so a page of 100 customers with their orders and
lines costs one upstream query per level, not one per customer. Loaders live for one request only, so
they never serve one user's data to another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from adapters.sdk import CanonicalRecord, Entity

from .store.models import CustomerLink, HubCustomer

if TYPE_CHECKING:
    from .hub import Hub


#: Customers (by id) with their links, oldest link first. Built once: building it costs more than running it
#: on the hub database; the caller's access scope is still added to every execution (hub/security/scope.py).
_CUSTOMERS_WITH_LINKS = (
    select(HubCustomer, CustomerLink)
    .outerjoin(CustomerLink, CustomerLink.hub_customer_id == HubCustomer.id)
    .where(HubCustomer.id.in_(bindparam("ids", expanding=True)))
    .order_by(HubCustomer.id, CustomerLink.id)
)


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
        # The customers come with their links in one query: a customer is nearly always loaded to read its
        # silo records, and a second round trip to the hub database would delay every upstream call.
        found, links = await self._hub.db.read(partial(_customers_with_links, ids=ids))
        for customer_id, rows in links.items():
            self.links.prime(customer_id, rows)
        result: list[HubCustomer | None] = []
        for customer_id in ids:
            row = found.get(customer_id)
            hops = 0
            while row is not None and row.merged_into and hops < 8:
                row, hops = found.get(row.merged_into), hops + 1
            result.append(row)
        return result

    async def _load_links(self, ids: Sequence[str]) -> list[list[CustomerLink]]:
        grouped = await self._hub.db.read(partial(_links_of, ids=ids))
        return [grouped.get(customer_id, []) for customer_id in ids]


def _customers_with_links(
    session: Session, *, ids: Sequence[str]
) -> tuple[dict[str, HubCustomer], dict[str, list[CustomerLink]]]:
    """The customers ``ids`` and their links; a merged-away id brings the customer it was merged into."""
    customers, links = _grouped(session.execute(_CUSTOMERS_WITH_LINKS, {"ids": list(ids)}))
    targets = [
        row.merged_into for row in customers.values() if row.merged_into and row.merged_into not in customers
    ]
    if targets:
        extra, extra_links = _grouped(session.execute(_CUSTOMERS_WITH_LINKS, {"ids": targets}))
        customers.update(extra)
        links.update(extra_links)
    return customers, links


def _grouped(
    rows: Iterable[tuple[HubCustomer, CustomerLink | None]],
) -> tuple[dict[str, HubCustomer], dict[str, list[CustomerLink]]]:
    customers: dict[str, HubCustomer] = {}
    links: dict[str, list[CustomerLink]] = {}
    for customer, link in rows:
        customers[customer.id] = customer
        group = links.setdefault(customer.id, [])
        if link is not None:
            group.append(link)
    return customers, links


def _links_of(session: Session, *, ids: Sequence[str]) -> dict[str, list[CustomerLink]]:
    rows = session.scalars(
        select(CustomerLink)
        .where(CustomerLink.hub_customer_id.in_(ids))
        .order_by(CustomerLink.hub_customer_id, CustomerLink.id)
    )
    grouped: dict[str, list[CustomerLink]] = {}
    for row in rows:
        grouped.setdefault(row.hub_customer_id, []).append(row)
    return grouped
