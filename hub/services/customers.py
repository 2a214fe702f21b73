"""Customers and their customer 360: listing, lookup, and the data each linked silo holds.

Every silo read goes through the request's DataLoaders, and the reads of one customer fan out to all its
sources concurrently, so the slowest source, not the sum of them, sets the latency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, func, select, tuple_

from adapters.sdk import (
    AdapterError,
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
from ..resilience.scope import current_scope
from ..store.models import CustomerLink, HubCustomer
from ..store.search import search_condition
from .profile import CustomerProfile, merge_profile

CUSTOMER_CURSOR = "customers"
#: ``RequestContext.extra`` key of the request's golden profiles, by hub customer id.
_PROFILES = "crmhub.customer_profiles"
T = TypeVar("T")


def visible_customers(ctx: RequestContext) -> list[ColumnElement[bool]]:
    """The conditions every listing of hub customers starts from (the GraphQL list, the bulk export):
    the one place that decides which customers a request may see."""
    return [HubCustomer.merged_into.is_(None)]


async def list_customers(
    ctx: RequestContext, *, first: int | None = None, after: str | None = None, search: str | None = None
) -> Page[HubCustomer]:
    """Hub customers sorted by name, keyset-paginated, optionally filtered by a search term."""
    settings = ctx.hub.settings.graphql
    size = check_page_size(first, default=settings.default_page_size, maximum=settings.max_page_size)
    conditions = visible_customers(ctx)
    searched = search_condition(search, HubCustomer.search_text)
    if searched is not None:
        conditions.append(searched)
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


async def _from_sources(loads: Sequence[Awaitable[T]], *, subject: str, allow_empty: bool = False) -> list[T]:
    """Await loads from several sources; a source that fails is left out and reported, so the others' data
    still reaches the client. Only when every source failed (and ``allow_empty`` is false) does the error
    propagate and fail the field. Outside a GraphQL request (no scope to report to) any failure propagates.
    """
    results = await asyncio.gather(*loads, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        scope = current_scope()
        unexpected = next((f for f in failures if not isinstance(f, AdapterError)), None)
        if unexpected is not None or scope is None or (len(failures) == len(results) and not allow_empty):
            raise unexpected or failures[0]
        for failure in failures:
            if isinstance(failure, AdapterError):
                scope.left_out(failure, subject)
    return [r for r in results if not isinstance(r, BaseException)]


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
    groups = await _from_sources(loads, subject=f"the {entity.value} list of customer {customer.id}")
    return [record for group in groups for record in group]


async def linked_entities(
    ctx: RequestContext, *, customer: HubCustomer, entity: Entity, allow_empty: bool = False
) -> list[CanonicalRecord]:
    """The records linked to the customer directly as ``entity`` (e.g. marketing members), in source order.

    A failing source is left out and reported; ``allow_empty`` keeps going even when every source failed.
    """
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
    what = "profile" if entity is Entity.CUSTOMER else f"{entity.value} records"
    found = await _from_sources(
        loads, subject=f"the {what} of customer {customer.id}", allow_empty=allow_empty
    )
    return [record for record in found if record is not None]


async def customer_profile(ctx: RequestContext, *, customer: HubCustomer) -> CustomerProfile:
    """The golden profile: each field chosen by its survivorship policy (``identity.survivorship``;
    by default the first linked source, in config order, that has a value).

    Assembled once per customer and request: every profile field of a query (name, email, phone...) asks
    for it, and all of them share the first one's work.
    """
    profiles: dict[str, asyncio.Future[CustomerProfile]] = ctx.extra.setdefault(_PROFILES, {})
    assembling = profiles.get(customer.id)
    if assembling is None:
        assembling = profiles[customer.id] = asyncio.ensure_future(_assemble_profile(ctx, customer))
    # Shielded: one field giving up (cancelled) must not cancel the work the others are waiting for.
    return await asyncio.shield(assembling)


async def _assemble_profile(ctx: RequestContext, customer: HubCustomer) -> CustomerProfile:
    # A failing source leaves its fields to the others (or the name to the hub's own snapshot) and is
    # reported as an error: it never nulls the whole customer.
    found = await linked_entities(ctx, customer=customer, entity=Entity.CUSTOMER, allow_empty=True)
    records = [r for r in found if isinstance(r, CustomerRecord)]
    return merge_profile(
        customer.display_name, records, ctx.hub.settings.identity.survivorship, ctx.hub.sources.names()
    )


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
