"""Helpers shared by the CRM services: reference checks, keyset pagination, territory subtrees."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hub.context import RequestContext
from hub.errors import InvalidCursorError
from hub.pagination import Page, check_page_size, decode_cursor, encode_cursor
from hub.store.models import HubCustomer

from ..errors import NotFoundError, ValidationError
from ..models import SalesRep, Territory

RowT = TypeVar("RowT")


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def require_rep(session: AsyncSession, rep_id: str | None, *, field: str = "owner_id") -> None:
    if rep_id is None:
        return
    active = await session.scalar(select(SalesRep.active).where(SalesRep.id == rep_id))
    if active is None:
        raise NotFoundError(f"no sales rep with id {rep_id!r}", field=field)
    if not active:
        raise ValidationError(f"sales rep {rep_id!r} is inactive", field=field)


async def require_territory(
    session: AsyncSession, territory_id: str | None, *, field: str = "territory_id"
) -> None:
    if territory_id is None:
        return
    if await session.scalar(select(Territory.id).where(Territory.id == territory_id)) is None:
        raise NotFoundError(f"no territory with id {territory_id!r}", field=field)


async def resolve_customer(
    session: AsyncSession, customer_id: str | None, *, field: str = "customer_id"
) -> str | None:
    """The id of the hub customer ``customer_id`` names, following merges; unknown ids raise."""
    if customer_id is None:
        return None
    current, hops = customer_id, 0
    while hops < 8:
        merged_into = await session.execute(select(HubCustomer.merged_into).where(HubCustomer.id == current))
        row = merged_into.first()
        if row is None:
            break
        if row[0] is None:
            return current
        current, hops = row[0], hops + 1
    raise NotFoundError(f"no customer with id {customer_id!r}", field=field)


async def territory_subtree(session: AsyncSession, territory_id: str) -> list[str]:
    """``territory_id`` and every territory below it."""
    edges = (await session.execute(select(Territory.id, Territory.parent_id))).all()
    children: dict[str | None, list[str]] = {}
    for child, parent in edges:
        children.setdefault(parent, []).append(child)
    found, stack = [], [territory_id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.append(current)
        stack.extend(children.get(current, []))
    return found


# -- keyset pagination ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SortKey:
    """One column of a keyset order, with how its value travels inside a cursor."""

    column: InstrumentedAttribute[Any]
    dump: Callable[[Any], Any] = lambda value: value
    load: Callable[[Any], Any] = lambda value: value


def timestamp_key(column: InstrumentedAttribute[Any]) -> SortKey:
    return SortKey(column, lambda v: v.isoformat(), lambda v: dt.datetime.fromisoformat(v))


def date_key(column: InstrumentedAttribute[Any]) -> SortKey:
    return SortKey(column, lambda v: v.isoformat(), lambda v: dt.date.fromisoformat(v))


def _after(keys: Sequence[SortKey], values: Sequence[Any], descending: bool) -> ColumnElement[bool]:
    clauses = []
    for index, key in enumerate(keys):
        equal = [keys[i].column == values[i] for i in range(index)]
        beyond = key.column < values[index] if descending else key.column > values[index]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


async def keyset_page(
    ctx: RequestContext,
    session: AsyncSession,
    statement: Select[RowT],
    *,
    kind: str,
    keys: Sequence[SortKey],
    first: int | None,
    after: str | None,
    descending: bool = False,
) -> Page[RowT]:
    """One page of ``statement`` ordered by ``keys``; cursors survive inserts between requests."""
    settings = ctx.hub.settings.graphql
    size = check_page_size(first, default=settings.default_page_size, maximum=settings.max_page_size)
    total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    paged = statement
    if after is not None:
        raw = decode_cursor(kind, after, arity=len(keys))
        try:
            values = [key.load(value) for key, value in zip(keys, raw, strict=True)]
        except (TypeError, ValueError):
            raise InvalidCursorError("`after` is not a cursor of this list", field="after") from None
        paged = paged.where(_after(keys, values, descending))
    order = [key.column.desc() if descending else key.column.asc() for key in keys]
    rows = list((await session.scalars(paged.order_by(*order).limit(size + 1))).all())
    items = rows[:size]
    return Page(
        items=items,
        cursors=[
            encode_cursor(kind, [key.dump(getattr(row, key.column.key)) for key in keys]) for row in items
        ],
        total_count=total,
        has_next_page=len(rows) > size,
        has_previous_page=after is not None,
    )
