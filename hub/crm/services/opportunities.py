"""Opportunities: create, update (stage changes with default probabilities, won/lost), read and list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import RequestContext
from hub.pagination import Page

from ..errors import NotFoundError, StaleVersionError, ValidationError
from ..events import record_event
from ..ids import new_id
from ..models import CompetitorNote, CustomerTerritory, Opportunity, OpportunityStage
from ..types import utcnow
from ..validation import Field, choice, clean_fields, currency, date, integer, money, reference, text
from ..versioning import audit_values, guarded_update, write_transaction
from .common import (
    SortKey,
    date_key,
    keyset_page,
    require_rep,
    require_territory,
    resolve_customer,
    territory_subtree,
)
from .stages import FORECAST_CATEGORIES, stage_map

OPPORTUNITY_FIELDS: dict[str, Field] = {
    "name": Field(text(300), required=True),
    "amount": Field(money, column="amount_minor", required=True),
    "currency": Field(currency, required=True),
    "stage": Field(text(60), required=True),
    "probability": Field(integer(0, 100)),
    "close_date": Field(date, required=True),
    "forecast_category": Field(choice(FORECAST_CATEGORIES)),
    "owner_id": Field(reference),
    "territory_id": Field(reference),
    "lost_reason": Field(text(500)),
}
CREATE_FIELDS: dict[str, Field] = {
    "customer_id": Field(reference, required=True),
    "lead_id": Field(reference),
    **OPPORTUNITY_FIELDS,
}


def _stage(stages: Mapping[str, OpportunityStage], name: str) -> OpportunityStage:
    stage = stages.get(name) or next(
        (s for s in stages.values() if s.name.casefold() == name.casefold()), None
    )
    if stage is None:
        raise ValidationError(f"stage must be one of: {', '.join(stages)}", field="stage")
    return stage


def _apply_stage_defaults(values: dict[str, Any], stage: OpportunityStage, *, stage_changed: bool) -> None:
    """A new stage brings its probability and forecast category unless the caller set them explicitly;
    a closed stage always forces its own (a lost deal is neither 'Commit' nor 40 % likely)."""
    values["stage"] = stage.name
    for name, default in (("probability", stage.probability), ("forecast_category", stage.forecast_category)):
        cleared = name in values and values[name] is None
        if stage.is_closed or cleared or (stage_changed and values.get(name) is None):
            values[name] = default
    if stage_changed:
        values["closed_at"] = utcnow() if stage.is_closed else None
        if not stage.is_closed:
            values["lost_reason"] = None


def _check_lost_reason(stage: OpportunityStage, lost_reason: str | None) -> None:
    if stage.is_closed and not stage.is_won and not lost_reason:
        raise ValidationError(
            f"a lost reason is required when the stage is {stage.name}", field="lost_reason"
        )


def clean_new_opportunity(fields: Mapping[str, Any]) -> dict[str, Any]:
    return clean_fields(fields, CREATE_FIELDS, creating=True)


async def insert_opportunity(
    session: AsyncSession, values: dict[str, Any], *, actor: str, opportunity_id: str | None = None
) -> Opportunity:
    """Validate references of cleaned values and add the opportunity and its events to the session."""
    values = dict(values)
    values["customer_id"] = await resolve_customer(session, values["customer_id"])
    await require_rep(session, values.get("owner_id"), field="owner_id")
    await require_territory(session, values.get("territory_id"), field="territory_id")
    stage = _stage(await stage_map(session), values["stage"])
    _apply_stage_defaults(values, stage, stage_changed=True)
    _check_lost_reason(stage, values.get("lost_reason"))
    if values.get("territory_id") is None:  # the deal belongs where its customer belongs
        values["territory_id"] = await session.scalar(
            select(CustomerTerritory.territory_id).where(
                CustomerTerritory.hub_customer_id == values["customer_id"]
            )
        )
    opportunity = Opportunity(id=opportunity_id or new_id("opportunity"), **values, **audit_values(actor))
    session.add(opportunity)
    _record(session, opportunity, "opportunity.created", f"Opportunity {opportunity.name} created", actor)
    if stage.is_closed:
        await _closed(session, opportunity, stage, actor)
    return opportunity


def _record(
    session: AsyncSession, opportunity: Opportunity, kind: str, title: str, actor: str, **data: Any
) -> None:
    record_event(
        session,
        kind=kind,
        subject_type="opportunity",
        subject_id=opportunity.id,
        customer_id=opportunity.customer_id,
        title=title,
        actor=actor,
        amount_minor=opportunity.amount_minor,
        currency=opportunity.currency,
        data={"stage": opportunity.stage, **data},
    )


async def _closed(
    session: AsyncSession, opportunity: Opportunity, stage: OpportunityStage, actor: str
) -> None:
    """Record the win or loss, and settle the outcome of competitor notes still marked unknown."""
    outcome = "won" if stage.is_won else "lost"
    if stage.is_won:
        _record(session, opportunity, "opportunity.won", f"Opportunity {opportunity.name} won", actor)
    else:
        reason = opportunity.lost_reason or ""
        _record(
            session,
            opportunity,
            "opportunity.lost",
            f"Opportunity {opportunity.name} lost: {reason}",
            actor,
            lost_reason=reason,
        )
    await session.flush()
    await session.execute(
        update(CompetitorNote)
        .where(CompetitorNote.opportunity_id == opportunity.id, CompetitorNote.outcome == "unknown")
        .values(outcome=outcome, version=CompetitorNote.version + 1, updated_at=utcnow(), updated_by=actor)
        .execution_options(synchronize_session=False)
    )


async def create_opportunity(ctx: RequestContext, *, fields: Mapping[str, Any]) -> Opportunity:
    values = clean_new_opportunity(fields)
    async with write_transaction(ctx) as session:
        opportunity = await insert_opportunity(session, values, actor=ctx.actor)
    return opportunity


async def update_opportunity(
    ctx: RequestContext, *, opportunity_id: str, version: int, changes: Mapping[str, Any]
) -> Opportunity:
    values = clean_fields(changes, OPPORTUNITY_FIELDS, creating=False)
    for name, field in OPPORTUNITY_FIELDS.items():
        if field.required and name in changes and values.get(field.column or name) is None:
            raise ValidationError(f"{name.replace('_', ' ')} cannot be empty", field=name)
    async with write_transaction(ctx) as session:
        current = await session.get(Opportunity, opportunity_id, populate_existing=True)
        if current is None:
            raise NotFoundError(f"no opportunity with id {opportunity_id!r}")
        if current.version != version:
            raise StaleVersionError(
                f"the opportunity was changed by someone else (you sent version {version}, it is now at "
                f"{current.version}); read it again and retry",
                current_version=current.version,
            )
        before_stage, before_amount = current.stage, current.amount_minor
        await require_rep(session, values.get("owner_id"), field="owner_id")
        await require_territory(session, values.get("territory_id"), field="territory_id")
        stages = await stage_map(session)
        stage = _stage(stages, values.get("stage") or current.stage)
        stage_changed = stage.name != before_stage
        _apply_stage_defaults(values, stage, stage_changed=stage_changed)
        lost_reason = values.get("lost_reason", current.lost_reason)
        _check_lost_reason(stage, lost_reason)
        # The version check above was a read; this guarded write is what makes it hold.
        await guarded_update(
            session,
            Opportunity,
            key=Opportunity.id,
            record_id=opportunity_id,
            version=version,
            values=values,
            actor=ctx.actor,
            what="opportunity",
        )
        opportunity = await session.get(Opportunity, opportunity_id, populate_existing=True)
        assert opportunity is not None
        if stage_changed and stage.is_closed:
            await _closed(session, opportunity, stage, ctx.actor)
        elif stage_changed:
            _record(
                session,
                opportunity,
                "opportunity.stage_changed",
                f"Opportunity {opportunity.name} moved from {before_stage} to {stage.name}",
                ctx.actor,
                previous_stage=before_stage,
            )
        elif opportunity.amount_minor != before_amount:
            _record(
                session,
                opportunity,
                "opportunity.amount_changed",
                f"Opportunity {opportunity.name} amount changed",
                ctx.actor,
                previous_amount_minor=before_amount,
            )
    return opportunity


async def get_opportunity(ctx: RequestContext, *, opportunity_id: str) -> Opportunity | None:
    if len(opportunity_id) > 40:
        return None
    async with ctx.hub.db.session() as session:
        return await session.get(Opportunity, opportunity_id)


async def list_opportunities(
    ctx: RequestContext,
    *,
    first: int | None = None,
    after: str | None = None,
    customer_id: str | None = None,
    stage: str | None = None,
    owner_id: str | None = None,
    territory_id: str | None = None,
    include_subterritories: bool = False,
    open_only: bool = False,
) -> Page[Opportunity]:
    """Opportunities by close date (soonest first)."""
    statement = select(Opportunity)
    async with ctx.hub.db.session() as session:
        if customer_id is not None:
            statement = statement.where(Opportunity.customer_id == customer_id)
        if stage is not None:
            statement = statement.where(Opportunity.stage == _stage(await stage_map(session), stage).name)
        if owner_id is not None:
            statement = statement.where(Opportunity.owner_id == owner_id)
        if territory_id is not None:
            ids = await territory_subtree(session, territory_id) if include_subterritories else [territory_id]
            statement = statement.where(Opportunity.territory_id.in_(ids))
        if open_only:
            closed = select(OpportunityStage.name).where(OpportunityStage.is_closed.is_(True))
            statement = statement.where(Opportunity.stage.not_in(closed))
        return await keyset_page(
            ctx,
            session,
            statement,
            kind="opportunities",
            keys=[date_key(Opportunity.close_date), SortKey(Opportunity.id)],
            first=first,
            after=after,
        )
