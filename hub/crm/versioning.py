"""Audit columns, optimistic concurrency and the write transaction every CRM mutation runs in.

An update never reads the row and writes it back: it is one ``UPDATE ... WHERE id = :id AND version =
:expected`` that also bumps the version, and a row count of 0 means the record is unknown or someone else
changed it first. The database serialises the competing statements, so no update is ever lost.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hub.context import RequestContext
from hub.errors import HubError

from .errors import ConflictError, NotFoundError, StaleVersionError, ValidationError
from .types import utcnow

log = logging.getLogger("crmhub.crm")
M = TypeVar("M")


def audit_values(actor: str) -> dict[str, Any]:
    """The audit columns of a new row."""
    now = utcnow()
    return {"created_at": now, "updated_at": now, "created_by": actor, "updated_by": actor, "version": 1}


def check_version(version: Any) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValidationError("version must be the positive version number you read", field="version")
    return version


async def guarded_update(
    session: AsyncSession,
    model: type[Any],
    *,
    key: InstrumentedAttribute[Any],
    record_id: str,
    version: int,
    values: Mapping[str, Any],
    actor: str,
    what: str,
    only_if: tuple[ColumnElement[bool], ...] = (),
    otherwise: HubError | None = None,
) -> int:
    """Apply ``values`` if the record still has ``version`` (and satisfies ``only_if``); returns the new
    version.

    Raises ``NotFoundError`` for an unknown id, ``StaleVersionError`` when the version moved on, and
    ``otherwise`` when the version matched but an ``only_if`` condition did not.
    """
    check_version(version)
    statement = (
        update(model)
        .where(key == record_id, model.version == version, *only_if)
        .values(**values, version=model.version + 1, updated_at=utcnow(), updated_by=actor)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return version + 1
    current = await _existing_version(session, model, key=key, record_id=record_id, what=what)
    if current != version:
        raise StaleVersionError(
            f"the {what} was changed by someone else (you sent version {version}, it is now at {current}); "
            "read it again and retry",
            current_version=current,
        )
    raise otherwise or ConflictError(f"the {what} cannot be changed in its current state")


async def _existing_version(
    session: AsyncSession, model: type[Any], *, key: InstrumentedAttribute[Any], record_id: str, what: str
) -> int:
    """The record's version now, after a guarded write missed it; ``NotFoundError`` when it is gone."""
    current: int | None = await session.scalar(select(model.version).where(key == record_id))
    if current is None:
        raise NotFoundError(f"no {what} with id {record_id!r}")
    return current


async def update_and_reload(session: AsyncSession, model: type[M], *, record_id: str, **update: Any) -> M:
    """``guarded_update`` of the record keyed by ``model.id`` (``update``: its other keyword arguments),
    then the record as it now stands."""
    await guarded_update(session, model, key=model.id, record_id=record_id, **update)  # type: ignore[attr-defined]
    record = await session.get(model, record_id, populate_existing=True)
    if record is None:  # the update saw it; only a change that took it out of the caller's scope hides it
        raise NotFoundError(f"no {update.get('what', 'record')} with id {record_id!r} in your scope")
    return record


async def guarded_delete(
    session: AsyncSession, model: type[Any], *, record_id: str, version: int, what: str, short: str
) -> None:
    """Delete the record keyed by ``model.id`` if it still has ``version``; ``short`` names it in the
    stale-version message."""
    check_version(version)
    result = await session.execute(delete(model).where(model.id == record_id, model.version == version))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        current = await _existing_version(session, model, key=model.id, record_id=record_id, what=what)
        raise StaleVersionError(
            f"the {short} was changed (now at version {current})", current_version=current
        )


@asynccontextmanager
async def write_transaction(ctx: RequestContext) -> AsyncIterator[AsyncSession]:
    """One transaction for one mutation: it commits whole or not at all.

    A constraint the services could not check up front (a concurrent insert of the same unique value, a
    record deleted meanwhile) surfaces as ``ConflictError`` instead of a driver error.
    """
    try:
        async with ctx.hub.db.transaction() as session:
            yield session
    except IntegrityError as exc:
        log.info("write refused by the database: %s", exc.orig)
        raise ConflictError(
            "the change conflicts with a concurrent change or an existing record; read again and retry"
        ) from None
