"""Sales reps: the people who own leads, opportunities, activities and territories."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from hub.context import RequestContext

from ..errors import DuplicateError
from ..ids import new_id
from ..models import SalesRep
from ..validation import Field, boolean, clean_fields, email, text
from ..versioning import audit_values, guarded_update, write_transaction

REP_FIELDS = {
    "name": Field(text(200), required=True),
    "email": Field(email, required=True),
    "active": Field(boolean),
}


async def _check_email_free(session: Any, address: str | None, *, rep_id: str | None = None) -> None:
    if address is None:
        return
    taken = await session.scalar(select(SalesRep.id).where(SalesRep.email == address))
    if taken is not None and taken != rep_id:
        raise DuplicateError(f"another sales rep already uses {address}", field="email")


async def create_sales_rep(ctx: RequestContext, *, fields: Mapping[str, Any]) -> SalesRep:
    values = clean_fields(fields, REP_FIELDS, creating=True)
    values.setdefault("active", True)
    async with write_transaction(ctx) as session:
        await _check_email_free(session, values["email"])
        rep = SalesRep(id=new_id("rep"), **values, **audit_values(ctx.actor))
        session.add(rep)
    return rep


async def update_sales_rep(
    ctx: RequestContext, *, rep_id: str, version: int, changes: Mapping[str, Any]
) -> SalesRep:
    values = clean_fields(changes, REP_FIELDS, creating=False)
    if "active" in values and values["active"] is None:
        values.pop("active")
    async with write_transaction(ctx) as session:
        await guarded_update(
            session,
            SalesRep,
            key=SalesRep.id,
            record_id=rep_id,
            version=version,
            values=values,
            actor=ctx.actor,
            what="sales rep",
        )
        await _check_email_free(session, values.get("email"), rep_id=rep_id)
    found = await get_sales_rep(ctx, rep_id=rep_id)
    assert found is not None
    return found


async def get_sales_rep(ctx: RequestContext, *, rep_id: str) -> SalesRep | None:
    async with ctx.hub.db.session() as session:
        return await session.get(SalesRep, rep_id)


async def list_sales_reps(ctx: RequestContext, *, active: bool | None = None) -> list[SalesRep]:
    statement = select(SalesRep).order_by(SalesRep.name, SalesRep.id)
    if active is not None:
        statement = statement.where(SalesRep.active.is_(active))
    async with ctx.hub.db.session() as session:
        return list((await session.scalars(statement)).all())
