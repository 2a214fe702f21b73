"""Per-request DataLoaders, keyed by (source, entity[, field]).

Every resolver that needs silo data asks a loader; loads made in the same tick are batched into one
``get_many``/``find_related`` call per source and entity, so a page of 100 customers with their orders and
lines costs one upstream query per level, not one per customer. Loaders live for one request only, so
they never serve one user's data to another.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session, make_transient_to_detached
from strawberry.dataloader import DataLoader

from adapters.sdk import CanonicalRecord, Entity

from .security.scope import active_scope
from .store.inline import CompiledSelect, InlineReads, InlineReadUnavailable
from .store.models import CustomerLink, HubCustomer

if TYPE_CHECKING:
    from .hub import Hub
    from .store import Database

Model = TypeVar("Model", HubCustomer, CustomerLink)


#: Customers (by id) with their links, oldest link first. Built once: building it costs more than running it
#: on the hub database; the caller's access scope is still added to every execution (hub/security/scope.py).
_CUSTOMERS_WITH_LINKS = (
    select(HubCustomer, CustomerLink)
    .outerjoin(CustomerLink, CustomerLink.hub_customer_id == HubCustomer.id)
    .where(HubCustomer.id.in_(bindparam("ids", expanding=True)))
    .order_by(HubCustomer.id, CustomerLink.id)
)
_CUSTOMERS: Table = HubCustomer.__table__  # type: ignore[assignment]
_LINKS: Table = CustomerLink.__table__  # type: ignore[assignment]
#: The same rows as plain columns, for the compiled lookup (``_CustomerRows``).
_CUSTOMER_AND_LINK_COLUMNS = (
    select(_CUSTOMERS, _LINKS)
    .select_from(_CUSTOMERS.outerjoin(_LINKS, _LINKS.c.hub_customer_id == _CUSTOMERS.c.id))
    .where(_CUSTOMERS.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_CUSTOMERS.c.id, _LINKS.c.id)
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
        found, links = await _read_customers_with_links(self._hub.db, ids)
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


async def _read_customers_with_links(
    db: Database, ids: Sequence[str]
) -> tuple[dict[str, HubCustomer], dict[str, list[CustomerLink]]]:
    # Every customer 360 waits for this lookup before it asks any silo. With no access scope to apply
    # (no session hook would add anything), it runs compiled on the loop's thread, skipping the ORM's
    # execution machinery (about 1 ms less per cold 360 in bench.fanout); otherwise the ORM read applies
    # the scope.
    inline = db.inline_reads
    if inline is not None and active_scope().unrestricted:
        try:
            return _CustomerRows.of(inline).read(ids)
        except InlineReadUnavailable:
            pass  # locked, over budget or failing: the engine's read waits and reports as usual
    return await db.read(partial(_customers_with_links, ids=ids))


class _CustomerRows:
    """``_customers_with_links`` as a compiled statement on one ``InlineReads``; the rows become detached
    instances, as a closed session leaves them."""

    def __init__(self, inline: InlineReads) -> None:
        self._inline = inline
        self._query: CompiledSelect = inline.compile(_CUSTOMER_AND_LINK_COLUMNS, expanding="ids")
        self._customer_keys = _attribute_keys(HubCustomer, _CUSTOMERS)
        self._link_keys = _attribute_keys(CustomerLink, _LINKS)
        self._width = len(self._customer_keys)
        self._customer_id = self._customer_keys.index("id")
        self._link_id = self._width + self._link_keys.index("id")

    @classmethod
    def of(cls, inline: InlineReads) -> _CustomerRows:
        rows = _COMPILED.get(inline)
        if rows is None:
            rows = _COMPILED[inline] = cls(inline)
        return rows

    def read(self, ids: Sequence[str]) -> tuple[dict[str, HubCustomer], dict[str, list[CustomerLink]]]:
        customers, links = self._grouped(list(ids))
        targets = [
            row.merged_into
            for row in customers.values()
            if row.merged_into and row.merged_into not in customers
        ]
        if targets:
            extra, extra_links = self._grouped(targets)
            customers.update(extra)
            links.update(extra_links)
        return customers, links

    def _grouped(self, ids: list[str]) -> tuple[dict[str, HubCustomer], dict[str, list[CustomerLink]]]:
        customers: dict[str, HubCustomer] = {}
        links: dict[str, list[CustomerLink]] = {}
        width = self._width
        for row in self._inline.select_rows(self._query, ids):
            customer_id = row[self._customer_id]
            if customer_id not in customers:
                customers[customer_id] = _detached(HubCustomer, self._customer_keys, row[:width])
                links[customer_id] = []
            if row[self._link_id] is not None:  # the outer join found a link
                links[customer_id].append(_detached(CustomerLink, self._link_keys, row[width:]))
        return customers, links


_COMPILED: weakref.WeakKeyDictionary[InlineReads, _CustomerRows] = weakref.WeakKeyDictionary()


def _attribute_keys(model: type[Any], table: Table) -> tuple[str, ...]:
    mapper = model.__mapper__
    return tuple(mapper.get_property_by_column(column).key for column in table.columns)


def _detached(model: type[Model], keys: tuple[str, ...], values: Sequence[Any]) -> Model:
    instance = model(**dict(zip(keys, values, strict=True)))
    make_transient_to_detached(instance)
    return instance


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
