"""Audit columns, optimistic concurrency and the write transaction every CRM mutation runs in.

An update never reads the row and writes it back: it is one ``UPDATE ... WHERE id = :id AND version =
:expected`` that also bumps the version, and a row count of 0 means the record is unknown or someone else
changed it first. The database serialises the competing statements, so no update is ever lost.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hub.context import RequestContext
from hub.errors import HubError

from .errors import ConflictError, NotFoundError, StaleVersionError, ValidationError
from .types import utcnow

log = logging.getLogger("crmhub.crm")


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
    current = await session.scalar(select(model.version).where(key == record_id))
    if current is None:
        raise NotFoundError(f"no {what} with id {record_id!r}")
    if current != version:
        raise StaleVersionError(
            f"the {what} was changed by someone else (you sent version {version}, it is now at {current}); "
            "read it again and retry",
            current_version=current,
        )
    raise otherwise or ConflictError(f"the {what} cannot be changed in its current state")


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
