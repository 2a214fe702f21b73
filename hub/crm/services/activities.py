"""Activities (calls, meetings, emails, notes, tasks) linked to customers, leads and opportunities; open
tasks form each rep's call queue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from hub.context import RequestContext
from hub.pagination import Page

from ..errors import NotFoundError, ValidationError
from ..ids import new_id
from ..models import Activity, Lead, Opportunity, SalesRep
from ..types import utcnow
from ..validation import Field, boolean, choice, clean_fields, reference, text, timestamp
from ..versioning import audit_values, update_and_reload, write_transaction
from .common import SortKey, keyset_page, require_rep, resolve_customer, timestamp_key

ACTIVITY_TYPES = ("call", "meeting", "email", "note", "task")
MAX_QUEUE = 200

ACTIVITY_FIELDS: dict[str, Field] = {
    "type": Field(choice(ACTIVITY_TYPES), required=True),
    "subject": Field(text(300), required=True),
    "body": Field(text(20_000, multiline=True)),
    "due_at": Field(timestamp),
    "done": Field(boolean),
    "owner_id": Field(reference),
    "customer_id": Field(reference),
    "lead_id": Field(reference),
    "opportunity_id": Field(reference),
}


async def _check_links(session: Any, values: dict[str, Any]) -> None:
    await require_rep(session, values.get("owner_id"), field="owner_id")
    if values.get("customer_id") is not None:
        values["customer_id"] = await resolve_customer(session, values["customer_id"])
    if values.get("lead_id") is not None and await session.get(Lead, values["lead_id"]) is None:
        raise NotFoundError(f"no lead with id {values['lead_id']!r}", field="lead_id")
    opportunity_id = values.get("opportunity_id")
    if opportunity_id is not None:
        customer = await session.scalar(
            select(Opportunity.customer_id).where(Opportunity.id == opportunity_id)
        )
        if customer is None:
            raise NotFoundError(f"no opportunity with id {opportunity_id!r}", field="opportunity_id")
        if values.get("customer_id") is None:
            values["customer_id"] = customer


def _done_fields(values: dict[str, Any]) -> None:
    if "done" in values:
        if values["done"] is None:
            values["done"] = False
        values["completed_at"] = utcnow() if values["done"] else None


async def create_activity(ctx: RequestContext, *, fields: Mapping[str, Any]) -> Activity:
    values = clean_fields(fields, ACTIVITY_FIELDS, creating=True)
    if not any(values.get(k) for k in ("customer_id", "lead_id", "opportunity_id")):
        raise ValidationError(
            "an activity belongs to a customer, a lead or an opportunity", field="customer_id"
        )
    values.setdefault("done", False)
    _done_fields(values)
    async with write_transaction(ctx) as session:
        await _check_links(session, values)
        activity = Activity(id=new_id("activity"), **values, **audit_values(ctx.actor))
        session.add(activity)
    return activity


async def update_activity(
    ctx: RequestContext, *, activity_id: str, version: int, changes: Mapping[str, Any]
) -> Activity:
    values = clean_fields(changes, ACTIVITY_FIELDS, creating=False)
    for required in ("type", "subject"):
        if required in values and values[required] is None:
            raise ValidationError(f"{required} cannot be empty", field=required)
    _done_fields(values)
    async with write_transaction(ctx) as session:
        await _check_links(session, values)
        activity = await update_and_reload(
            session,
            Activity,
            record_id=activity_id,
            version=version,
            values=values,
            actor=ctx.actor,
            what="activity",
        )
        if not (activity.customer_id or activity.lead_id or activity.opportunity_id):
            raise ValidationError(
                "an activity belongs to a customer, a lead or an opportunity", field="customer_id"
            )
    return activity


async def get_activity(ctx: RequestContext, *, activity_id: str) -> Activity | None:
    async with ctx.hub.db.session() as session:
        return await session.get(Activity, activity_id)


async def list_activities(
    ctx: RequestContext,
    *,
    first: int | None = None,
    after: str | None = None,
    customer_id: str | None = None,
    lead_id: str | None = None,
    opportunity_id: str | None = None,
    owner_id: str | None = None,
    type: str | None = None,
    done: bool | None = None,
) -> Page[Activity]:
    """Activities newest first, filtered by what they are linked to, owner, type and state."""
    statement = select(Activity)
    for column, value in (
        (Activity.customer_id, customer_id),
        (Activity.lead_id, lead_id),
        (Activity.opportunity_id, opportunity_id),
        (Activity.owner_id, owner_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if type is not None:
        statement = statement.where(Activity.type == choice(ACTIVITY_TYPES)(type, "type"))
    if done is not None:
        statement = statement.where(Activity.done.is_(done))
    async with ctx.hub.db.session() as session:
        return await keyset_page(
            ctx,
            session,
            statement,
            kind="activities",
            keys=[timestamp_key(Activity.created_at), SortKey(Activity.id)],
            first=first,
            after=after,
            descending=True,
        )


async def call_queue(ctx: RequestContext, *, owner_id: str, limit: int = 50) -> list[Activity]:
    """The rep's open tasks, the ones due first at the top (undated tasks last, oldest first)."""
    if not 1 <= limit <= MAX_QUEUE:
        raise ValidationError(f"first must be between 1 and {MAX_QUEUE}", field="first")
    async with ctx.hub.db.session() as session:
        if await session.get(SalesRep, owner_id) is None:
            raise NotFoundError(f"no sales rep with id {owner_id!r}", field="owner")
        statement = (
            select(Activity)
            .where(Activity.owner_id == owner_id, Activity.type == "task", Activity.done.is_(False))
            .order_by(Activity.due_at.is_(None), Activity.due_at, Activity.created_at, Activity.id)
            .limit(limit)
        )
        return list((await session.scalars(statement)).all())
