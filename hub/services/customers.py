"""Customers and their customer 360: listing, lookup, and the data each linked silo holds.

Every silo read goes through the request's DataLoaders, and the reads of one customer fan out to all its
sources concurrently, so the slowest source, not the sum of them, sets the latency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, select, tuple_

from adapters.sdk import (
    CanonicalRecord,
    Contact,
    CreditTerms,
    CustomerRecord,
    Entity,
    Order,
    OrderLine,
    Product,
)

from ..context import RequestContext
from ..errors import InvalidInputError
from ..pagination import Page, check_page_size, decode_cursor, encode_cursor
from ..store.models import CustomerLink, HubCustomer
from .profile import CustomerProfile, merge_profile

CUSTOMER_CURSOR = "customers"
_LIKE_ESCAPE = "\\"


def _like_pattern(term: str) -> str:
    escaped = term.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_customers(
    ctx: RequestContext, *, first: int | None = None, after: str | None = None, search: str | None = None
) -> Page[HubCustomer]:
    """Hub customers sorted by name, keyset-paginated, optionally filtered by a search term."""
    settings = ctx.hub.settings.graphql
    size = check_page_size(first, default=settings.default_page_size, maximum=settings.max_page_size)
    conditions: list[ColumnElement[bool]] = [HubCustomer.merged_into.is_(None)]
    if search is not None:
        term = search.strip().lower()
        if len(term) > 200:
            raise InvalidInputError("`search` must be at most 200 characters", field="search")
        if term:
            conditions.append(HubCustomer.search_text.like(_like_pattern(term), escape=_LIKE_ESCAPE))
    page_conditions = list(conditions)
    if after is not None:
        name, customer_id = decode_cursor(CUSTOMER_CURSOR, after, arity=2)
        if not (isinstance(name, str) and isinstance(customer_id, str)):
            raise InvalidInputError("`after` is not a cursor of this list", field="after")
        page_conditions.append(tuple_(HubCustomer.display_name, HubCustomer.id) > tuple_(name, customer_id))
    async with ctx.hub.db.session() as session:
        rows = list(
            await session.scalars(
                select(HubCustomer)
                .where(*page_conditions)
                .order_by(HubCustomer.display_name, HubCustomer.id)
                .limit(size + 1)
            )
        )
        total = await session.scalar(select(func.count()).select_from(HubCustomer).where(*conditions)) or 0
    items = rows[:size]
    for row in items:  # prime the loader so resolving `customer(id)` for these costs nothing more
        ctx.loaders.customers.prime(row.id, row)
    return Page(
        items=items,
        cursors=[encode_cursor(CUSTOMER_CURSOR, [row.display_name, row.id]) for row in items],
        total_count=total,
        has_next_page=len(rows) > size,
        has_previous_page=after is not None,
    )


async def get_customer(ctx: RequestContext, *, customer_id: str) -> HubCustomer | None:
    """A hub customer by id; a merged-away id resolves to the survivor; unknown ids give ``None``."""
    if len(customer_id) > 40:
        return None
    return await ctx.loaders.customers.load(customer_id)


async def customer_links(ctx: RequestContext, *, customer: HubCustomer) -> list[CustomerLink]:
    return await ctx.loaders.links.load(customer.id)


async def linked_records(
    ctx: RequestContext, *, customer: HubCustomer, entity: Entity
) -> list[CanonicalRecord]:
    """``entity`` records of every linked customer record, from each source that relates them to customers.

    The sources are read concurrently; within a request, loads of many customers batch into one call.
    """
    links = await customer_links(ctx, customer=customer)
    sources = set(ctx.hub.sources.providing(entity, "customer_external_id"))
    loads = [
        ctx.loaders.related(link.source, entity, "customer_external_id").load(link.external_id)
        for link in links
        if link.source in sources and link.entity == Entity.CUSTOMER.value
    ]
    return [record for group in await asyncio.gather(*loads) for record in group]


async def linked_entities(
    ctx: RequestContext, *, customer: HubCustomer, entity: Entity
) -> list[CanonicalRecord]:
    """The records linked to the customer directly as ``entity`` (e.g. marketing members), in source order."""
    priority = {name: i for i, name in enumerate(ctx.hub.sources.names())}
    links = sorted(
        (
            link
            for link in await customer_links(ctx, customer=customer)
            if link.entity == entity.value
            and link.source in priority
            and ctx.hub.sources.adapter(link.source).supports(entity)
        ),
        key=lambda link: priority[link.source],
    )
    loads = [ctx.loaders.records(link.source, entity).load(link.external_id) for link in links]
    return [record for record in await asyncio.gather(*loads) if record is not None]


async def customer_profile(ctx: RequestContext, *, customer: HubCustomer) -> CustomerProfile:
    """The golden profile: each field from the first linked source (in config order) that has a value."""
    found = await linked_entities(ctx, customer=customer, entity=Entity.CUSTOMER)
    records = [r for r in found if isinstance(r, CustomerRecord)]
    return merge_profile(customer.display_name, records)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def customer_orders(ctx: RequestContext, *, customer: HubCustomer) -> list[Order]:
    """Orders from every linked source, newest first."""
    found = await linked_records(ctx, customer=customer, entity=Entity.ORDER)
    orders = [r for r in found if isinstance(r, Order)]
    orders.sort(key=lambda o: (o.ordered_at or _EPOCH, o.external_id), reverse=True)
    return orders


async def customer_contacts(ctx: RequestContext, *, customer: HubCustomer) -> list[Contact]:
    found = await linked_records(ctx, customer=customer, entity=Entity.CONTACT)
    return [r for r in found if isinstance(r, Contact)]


async def customer_credit_terms(ctx: RequestContext, *, customer: HubCustomer) -> CreditTerms | None:
    found = await linked_records(ctx, customer=customer, entity=Entity.CREDIT_TERMS)
    terms = [r for r in found if isinstance(r, CreditTerms)]
    return terms[0] if terms else None


async def order_lines(ctx: RequestContext, *, order: Order) -> list[OrderLine]:
    if "order_external_id" not in ctx.hub.sources.adapter(order.source).relations(Entity.ORDER_LINE):
        return []
    lines = await ctx.loaders.related(order.source, Entity.ORDER_LINE, "order_external_id").load(
        order.external_id
    )
    return [line for line in lines if isinstance(line, OrderLine)]


async def products(ctx: RequestContext, *, source: str, external_ids: Sequence[str]) -> list[Product | None]:
    if not ctx.hub.sources.adapter(source).supports(Entity.PRODUCT):
        return [None] * len(external_ids)
    found = await ctx.loaders.records(source, Entity.PRODUCT).load_many(list(external_ids))
    return [p if isinstance(p, Product) else None for p in found]
