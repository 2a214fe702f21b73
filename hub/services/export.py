"""The bulk export of unified customers for BI tools: every visible hub customer with its golden name,
country, linked source records and order totals, page by page.

Bulk reads bypass GraphQL, whose per-object execution cost would dominate a million rows, and keep memory
bounded whatever the size: hub customers are read in keyset pages (by id), and for each page every source
that relates orders to customers answers ONE aggregate query (order count and sum of totals per currency)
for the whole page. Which customers a request may see is decided by ``visible_customers``, the same
conditions the GraphQL customer list starts from.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, select

from adapters.sdk import Aggregate, Entity, Measure

from ..context import RequestContext
from ..errors import InvalidInputError
from ..store.models import CustomerLink, HubCustomer
from .customers import visible_customers

#: The optional fields of an exported row; ``id`` is always there.
EXPORT_FIELDS = ("name", "country", "updated_at", "sources", "orders")
DEFAULT_PAGE_SIZE = 2000
MAX_PAGE_SIZE = 5000
#: Pages read ahead of the one being sent.
READ_AHEAD = 3
#: The ISO 4217 code for "no currency": the total key of orders that state none.
NO_CURRENCY = "XXX"
_ORDER_MEASURES = (Measure.count(), Measure.sum("total"))
_BY_CURRENCY = ("currency",)
_CUSTOMER = Entity.CUSTOMER.value


@dataclass(frozen=True, slots=True)
class ExportOptions:
    #: Only customers whose hub record changed at or after this moment.
    since: datetime | None = None
    #: At most this many rows.
    limit: int | None = None
    fields: frozenset[str] = field(default_factory=lambda: frozenset(EXPORT_FIELDS))
    #: Customers per page: bounds memory and the size of each upstream query (lowered to what the order
    #: sources take in one call).
    page_size: int = DEFAULT_PAGE_SIZE

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise InvalidInputError("`limit` must be a positive integer", field="limit")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise InvalidInputError(f"the page size must be 1..{MAX_PAGE_SIZE}", field="page_size")
        unknown = self.fields - set(EXPORT_FIELDS)
        if unknown:
            raise InvalidInputError(
                f"unknown field(s) {', '.join(sorted(unknown))}; choose from {', '.join(EXPORT_FIELDS)}",
                field="fields",
            )
        if self.since is not None and self.since.tzinfo is None:
            raise InvalidInputError("`since` must carry a time zone (e.g. Z or +02:00)", field="since")


class _Link(NamedTuple):
    source: str
    entity: str
    external_id: str


class _Page(NamedTuple):
    #: (id, name, country, updated_at) per customer, by id.
    customers: list[tuple[str, str, str | None, datetime]]
    links: dict[str, list[_Link]]


async def export_customers(
    ctx: RequestContext, options: ExportOptions
) -> AsyncIterator[list[dict[str, Any]]]:
    """The export, one page of rows at a time (at most ``options.page_size`` rows per page), by hub id.

    Pages are read ahead: the next page's customers are being read while the order totals of the pages
    before it are being read and the oldest one is being sent, so the hub database, the sources and the
    client all stay busy. At most ``READ_AHEAD`` pages (and the next page's query) are in flight, which
    keeps memory bounded.
    """
    in_flight: deque[asyncio.Task[list[dict[str, Any]]]] = deque()
    remaining = options.limit
    page_size = _page_size(ctx, options)

    def next_page(after: str | None) -> asyncio.Task[_Page]:
        size = page_size if remaining is None else min(page_size, remaining)
        return asyncio.create_task(_read_page(ctx, options.since, after, size, options.fields))

    reading: asyncio.Task[_Page] | None = next_page(None)
    try:
        while reading is not None:
            page = await reading
            reading = None
            asked = page_size if remaining is None else min(page_size, remaining)
            if page.customers:
                in_flight.append(asyncio.create_task(_rows(ctx, page, options.fields)))
                if remaining is not None:
                    remaining -= len(page.customers)
                if len(page.customers) == asked and (remaining is None or remaining > 0):
                    reading = next_page(page.customers[-1][0])
            while in_flight and (len(in_flight) >= READ_AHEAD or reading is None):
                yield await in_flight.popleft()
    finally:
        # The consumer stopped early (client gone, or an error): nothing keeps reading behind its back.
        pending = [*in_flight, *([reading] if reading is not None else [])]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def _page_size(ctx: RequestContext, options: ExportOptions) -> int:
    """The page size, lowered to what every order source takes in one call (``chunk_size``, where an
    adapter reports it), so that a page's order totals stay one upstream query per source."""
    size = options.page_size
    if "orders" not in options.fields:
        return size
    for name in ctx.hub.sources.providing(Entity.ORDER, "customer_external_id"):
        chunk_size = getattr(ctx.hub.sources.adapter(name), "chunk_size", None)
        limit = chunk_size(Entity.ORDER, "customer_external_id") if callable(chunk_size) else None
        if isinstance(limit, int) and limit > 0:
            size = min(size, limit)
    return size


def _stored_moment(ctx: RequestContext, moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    # SQLite keeps naive UTC text and its DateTime binding would format an aware value's local wall time.
    return utc.replace(tzinfo=None) if ctx.hub.db.is_sqlite else utc


async def _read_page(
    ctx: RequestContext, since: datetime | None, after: str | None, size: int, fields: frozenset[str]
) -> _Page:
    """The next ``size`` visible customers after ``after`` (by id), and their links when the fields need
    them: one query either way."""
    conditions: list[ColumnElement[bool]] = visible_customers(ctx)
    if since is not None:
        conditions.append(HubCustomer.updated_at >= _stored_moment(ctx, since))
    if after is not None:
        conditions.append(HubCustomer.id > after)
    customers = (
        select(HubCustomer.id, HubCustomer.display_name, HubCustomer.country, HubCustomer.updated_at)
        .where(*conditions)
        .order_by(HubCustomer.id)
        .limit(size)
    )
    if "sources" not in fields and "orders" not in fields:
        async with ctx.hub.db.session() as session:
            return _Page([(c, n, country, u) for c, n, country, u in await session.execute(customers)], {})
    # Joined to the page as a subquery rather than looked up with IN (1000 ids): one round trip, and no
    # thousand-parameter statement to render for every page.
    page = customers.subquery("page")
    statement = (
        select(
            page.c.id,
            page.c.display_name,
            page.c.country,
            page.c.updated_at,
            CustomerLink.source,
            CustomerLink.entity,
            CustomerLink.external_id,
        )
        .select_from(page)
        .outerjoin(CustomerLink, CustomerLink.hub_customer_id == page.c.id)
        .order_by(page.c.id, CustomerLink.id)
    )
    rows: list[tuple[str, str, str | None, datetime]] = []
    links: dict[str, list[_Link]] = {}
    current: str | None = None
    current_links: list[_Link] = []
    async with ctx.hub.db.session() as session:
        result = await session.execute(statement)
    for customer_id, name, country, updated_at, source, entity, external_id in result:
        if customer_id != current:  # rows come by customer: one row per link, or one without any
            current = customer_id
            rows.append((customer_id, name, country, updated_at))
            current_links = links[customer_id] = []
        if source is not None:
            current_links.append(_Link(source, entity, external_id))
    return _Page(rows, links)


async def _order_totals(
    ctx: RequestContext, links: Iterable[_Link]
) -> dict[tuple[str, str], list[Aggregate]]:
    """(source, customer external id) -> its order aggregates per currency: one call per source."""
    sources = ctx.hub.sources
    providing = sources.providing(Entity.ORDER, "customer_external_id")
    keys: dict[str, list[str]] = {source: [] for source in providing}
    for link in links:
        if link.entity == _CUSTOMER and link.source in keys:
            keys[link.source].append(link.external_id)
    keys = {source: list(dict.fromkeys(wanted)) for source, wanted in keys.items() if wanted}

    async def one(source: str, external_ids: list[str]) -> list[list[Aggregate]]:
        return await sources.aggregate_related(
            source,
            Entity.ORDER,
            "customer_external_id",
            external_ids,
            _ORDER_MEASURES,
            group_by=_BY_CURRENCY,
        )

    answers = await asyncio.gather(*(one(source, ids) for source, ids in keys.items()))
    return {
        (source, external_id): groups
        for (source, ids), answer in zip(keys.items(), answers, strict=True)
        for external_id, groups in zip(ids, answer, strict=True)
    }


def money_text(amount: Decimal) -> str:
    """A total as exact decimal text without trailing zeros (``1234.5``, ``1000``), whatever the source's
    scale, so the same total reads the same from every backend."""
    return format(amount.normalize(), "f")


async def _rows(ctx: RequestContext, page: _Page, fields: frozenset[str]) -> list[dict[str, Any]]:
    totals: dict[tuple[str, str], list[Aggregate]] = {}
    if "orders" in fields:
        totals = await _order_totals(ctx, (link for linked in page.links.values() for link in linked))
    with_name, with_country, with_updated = "name" in fields, "country" in fields, "updated_at" in fields
    with_sources, with_orders = "sources" in fields, "orders" in fields
    rows: list[dict[str, Any]] = []
    for customer_id, name, country, updated_at in page.customers:
        row: dict[str, Any] = {"id": customer_id}
        if with_name:
            row["name"] = name
        if with_country:
            row["country"] = country
        if with_updated:
            row["updated_at"] = updated_at
        linked = page.links.get(customer_id, ())
        if with_sources:
            row["sources"] = [
                {"source": link.source, "entity": link.entity, "external_id": link.external_id}
                for link in linked
            ]
        if with_orders:
            count = 0
            sums: dict[str, Decimal] = {}
            for link in linked:
                if link.entity != _CUSTOMER:
                    continue
                for group, (orders, total) in totals.get((link.source, link.external_id), ()):
                    count += orders or 0  # type: ignore[assignment]
                    if total is not None:
                        key = group[0] or NO_CURRENCY
                        sums[key] = sums[key] + total if key in sums else total  # type: ignore[assignment]
            row["order_count"] = count
            row["order_totals"] = {
                currency: money_text(amount)
                for currency, amount in (sorted(sums.items()) if len(sums) > 1 else sums.items())
            }
        rows.append(row)
    return rows
