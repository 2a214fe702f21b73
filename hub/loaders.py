"""Per-request DataLoaders, keyed by (source, entity[, field]).

Every resolver that needs silo data asks a loader; loads made in the same tick are batched into one
``get_many``/``find_related`` call per source and entity, so a page of 100 customers with their orders and
lines costs one upstream query per level, not one per customer. Loaders live for one request only, so
they never serve one user's data to another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache, partial
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

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
#: The same rows as plain columns, for the compiled lookup (``_detached_pairs``).
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


Grouped: TypeAlias = tuple[dict[str, HubCustomer], dict[str, list[CustomerLink]]]


async def _read_customers_with_links(db: Database, ids: Sequence[str]) -> Grouped:
    # Every customer 360 waits for this lookup before it asks any silo. With no access scope to apply
    # (no session hook would add anything), it runs compiled on the loop's thread, skipping the ORM's
    # execution machinery (about 1 ms less per cold 360 in bench.fanout); otherwise the ORM read applies
    # the scope.
    inline = db.inline_reads
    if inline is not None and active_scope().unrestricted:
        query = inline.compiled(_CUSTOMER_AND_LINK_COLUMNS, expanding="ids")
        try:
            return _with_merge_targets(lambda keys: _grouped(_detached_pairs(inline, query, keys)), ids)
        except InlineReadUnavailable:
            pass  # locked, over budget or failing: the engine's read waits and reports as usual
    return await db.read(partial(_customers_with_links, ids=ids))


def _customers_with_links(session: Session, *, ids: Sequence[str]) -> Grouped:
    """The customers ``ids`` and their links; a merged-away id brings the customer it was merged into."""
    return _with_merge_targets(
        lambda keys: _grouped(session.execute(_CUSTOMERS_WITH_LINKS, {"ids": keys})), ids
    )


def _with_merge_targets(read: Callable[[list[str]], Grouped], ids: Sequence[str]) -> Grouped:
    customers, links = read(list(ids))
    targets = [
        row.merged_into for row in customers.values() if row.merged_into and row.merged_into not in customers
    ]
    if targets:
        extra, extra_links = read(targets)
        customers.update(extra)
        links.update(extra_links)
    return customers, links


def _detached_pairs(
    inline: InlineReads, query: CompiledSelect, ids: list[str]
) -> Iterator[tuple[HubCustomer, CustomerLink | None]]:
    """The compiled statement's rows as the ORM statement's (customer, link) pairs: detached instances, as
    a closed session leaves them; one customer instance for all its rows (they come ordered by customer)."""
    customer_keys, link_keys = _column_keys()
    width, customer_id, link_id = len(customer_keys), customer_keys.index("id"), link_keys.index("id")
    customer: HubCustomer | None = None
    for row in inline.select_rows(query, ids):
        if customer is None or customer.id != row[customer_id]:
            customer = _detached(HubCustomer, customer_keys, row[:width])
        link = _detached(CustomerLink, link_keys, row[width:]) if row[width + link_id] is not None else None
        yield customer, link


@cache
def _column_keys() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The attribute of each column of ``_CUSTOMER_AND_LINK_COLUMNS``, customer's then link's."""

    def keys(model: type[Any], table: Table) -> tuple[str, ...]:
        mapper = model.__mapper__
        return tuple(mapper.get_property_by_column(column).key for column in table.columns)

    return keys(HubCustomer, _CUSTOMERS), keys(CustomerLink, _LINKS)


def _detached(model: type[Model], keys: tuple[str, ...], values: Sequence[Any]) -> Model:
    # As the ORM's loader builds an instance: no constructor, so no attribute events or history per column
    # (a third of the cost), then the identity key that makes it detached.
    instance: Model = model.__mapper__.class_manager.new_instance()
    instance.__dict__.update(zip(keys, values, strict=True))
    make_transient_to_detached(instance)
    return instance


def _grouped(rows: Iterable[tuple[HubCustomer, CustomerLink | None]]) -> Grouped:
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
