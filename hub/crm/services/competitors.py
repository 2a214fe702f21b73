"""Competitor notes on customers and opportunities, and the per-competitor summary (wins, losses,
observed prices)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import case, func, select

from hub.context import RequestContext

from ..errors import NotFoundError, ValidationError
from ..ids import new_id
from ..models import CompetitorNote, Opportunity
from ..validation import Field, choice, clean_fields, currency, money, reference, text
from ..versioning import audit_values, update_and_reload, write_transaction
from .common import resolve_customer

OUTCOMES = ("won", "lost", "unknown")
_CENT = Decimal("0.01")

NOTE_FIELDS: dict[str, Field] = {
    "competitor": Field(text(200), required=True),
    "customer_id": Field(reference),
    "opportunity_id": Field(reference),
    "strengths": Field(text(1000, multiline=True)),
    "weaknesses": Field(text(1000, multiline=True)),
    "observed_price": Field(money, column="observed_price_minor"),
    "currency": Field(currency),
    "outcome": Field(choice(OUTCOMES)),
    "author": Field(text(200)),
}


@dataclass(frozen=True, slots=True)
class PriceAverage:
    currency: str
    average: Decimal
    notes: int


@dataclass
class CompetitorSummary:
    competitor: str
    notes: int
    wins: int
    losses: int
    unknown: int
    opportunities: int
    average_prices: list[PriceAverage] = field(default_factory=list)


def competitor_key(name: str) -> str:
    return " ".join(name.split()).casefold()


async def _check_links(session: Any, values: dict[str, Any]) -> None:
    if "customer_id" in values:
        values["customer_id"] = await resolve_customer(session, values["customer_id"])
    opportunity_id = values.get("opportunity_id")
    if opportunity_id is not None:
        customer = await session.scalar(
            select(Opportunity.customer_id).where(Opportunity.id == opportunity_id)
        )
        if customer is None:
            raise NotFoundError(f"no opportunity with id {opportunity_id!r}", field="opportunity_id")
        if values.get("customer_id") is None:
            values["customer_id"] = customer  # a note on a deal is a note on its customer too
    if values.get("observed_price_minor") is not None and values.get("currency") is None:
        raise ValidationError("currency is required with an observed price", field="currency")


async def create_competitor_note(ctx: RequestContext, *, fields: Mapping[str, Any]) -> CompetitorNote:
    values = clean_fields(fields, NOTE_FIELDS, creating=True)
    if values.get("customer_id") is None and values.get("opportunity_id") is None:
        raise ValidationError(
            "a competitor note belongs to a customer, an opportunity or both", field="customer_id"
        )
    values["outcome"] = values.get("outcome") or "unknown"
    values["author"] = values.get("author") or ctx.actor
    async with write_transaction(ctx) as session:
        await _check_links(session, values)
        note = CompetitorNote(
            id=new_id("competitor_note"),
            competitor_key=competitor_key(values["competitor"]),
            **values,
            **audit_values(ctx.actor),
        )
        session.add(note)
    return note


async def update_competitor_note(
    ctx: RequestContext, *, note_id: str, version: int, changes: Mapping[str, Any]
) -> CompetitorNote:
    values = clean_fields(changes, NOTE_FIELDS, creating=False)
    for required in ("competitor", "outcome", "author"):
        if required in values and values[required] is None:
            raise ValidationError(f"{required} cannot be empty", field=required)
    if values.get("competitor"):
        values["competitor_key"] = competitor_key(values["competitor"])
    async with write_transaction(ctx) as session:
        await _check_links(session, values)
        note = await update_and_reload(
            session,
            CompetitorNote,
            record_id=note_id,
            version=version,
            values=values,
            actor=ctx.actor,
            what="competitor note",
        )
        if note.customer_id is None and note.opportunity_id is None:
            raise ValidationError(
                "a competitor note belongs to a customer, an opportunity or both", field="customer_id"
            )
        if note.observed_price_minor is not None and note.currency is None:
            raise ValidationError("currency is required with an observed price", field="currency")
    return note


async def list_competitor_notes(
    ctx: RequestContext,
    *,
    customer_id: str | None = None,
    opportunity_id: str | None = None,
    competitor: str | None = None,
    limit: int = 100,
) -> list[CompetitorNote]:
    statement = (
        select(CompetitorNote).order_by(CompetitorNote.created_at.desc(), CompetitorNote.id).limit(limit)
    )
    if customer_id is not None:
        statement = statement.where(CompetitorNote.customer_id == customer_id)
    if opportunity_id is not None:
        statement = statement.where(CompetitorNote.opportunity_id == opportunity_id)
    if competitor is not None:
        statement = statement.where(CompetitorNote.competitor_key == competitor_key(competitor))
    async with ctx.hub.db.session() as session:
        return list((await session.scalars(statement)).all())


async def competitor_summary(
    ctx: RequestContext, *, competitor: str | None = None
) -> list[CompetitorSummary]:
    """Per competitor: notes, wins, losses, deals met on, and the average observed price per currency."""
    key = CompetitorNote.competitor_key
    counts = select(
        key,
        func.max(CompetitorNote.competitor),
        func.count(),
        func.sum(case((CompetitorNote.outcome == "won", 1), else_=0)),
        func.sum(case((CompetitorNote.outcome == "lost", 1), else_=0)),
        func.count(func.distinct(CompetitorNote.opportunity_id)),
    ).group_by(key)
    prices = (
        select(key, CompetitorNote.currency, func.sum(CompetitorNote.observed_price_minor), func.count())
        .where(CompetitorNote.observed_price_minor.is_not(None))
        .group_by(key, CompetitorNote.currency)
        .order_by(key, CompetitorNote.currency)
    )
    if competitor is not None:
        counts = counts.where(key == competitor_key(competitor))
        prices = prices.where(key == competitor_key(competitor))
    async with ctx.hub.db.session() as session:
        summaries = {
            row[0]: CompetitorSummary(
                competitor=row[1],
                notes=row[2],
                wins=int(row[3] or 0),
                losses=int(row[4] or 0),
                unknown=row[2] - int(row[3] or 0) - int(row[4] or 0),
                opportunities=row[5],
            )
            for row in await session.execute(counts)
        }
        for row_key, row_currency, total, count in await session.execute(prices):
            # Integer sums stay exact; the average is rounded once, to cents.
            average = (Decimal(int(total or 0)) / count / 100).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_EVEN
            )
            summaries[row_key].average_prices.append(PriceAverage(str(row_currency), average, count))
    return sorted(summaries.values(), key=lambda s: (-s.notes, s.competitor.casefold()))
