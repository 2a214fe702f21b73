"""Competitor notes and the per-competitor summary."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

import strawberry

from hub.crm.models import CompetitorNote as NoteRow
from hub.crm.services import competitors as service
from hub.crm.validation import from_minor

from ..context import Info
from .common import Audited, CrmError, attempt, audit, changes, from_id, to_id


@strawberry.enum
class CompetitorOutcome(Enum):
    WON = "won"
    LOST = "lost"
    UNKNOWN = "unknown"


@strawberry.type
class CompetitorNote(Audited):
    id: strawberry.ID
    competitor: str
    customer_id: strawberry.ID | None
    opportunity_id: strawberry.ID | None
    strengths: str | None
    weaknesses: str | None
    observed_price: Decimal | None
    currency: str | None
    outcome: CompetitorOutcome = strawberry.field(description="Whether we won or lost against them.")
    author: str

    @classmethod
    def from_row(cls, row: NoteRow) -> CompetitorNote:
        return cls(
            id=strawberry.ID(row.id),
            competitor=row.competitor,
            customer_id=to_id(row.customer_id),
            opportunity_id=to_id(row.opportunity_id),
            strengths=row.strengths,
            weaknesses=row.weaknesses,
            observed_price=from_minor(row.observed_price_minor),
            currency=row.currency,
            outcome=CompetitorOutcome(row.outcome),
            author=row.author,
            **audit(row),
        )


@strawberry.type
class PriceAverage:
    currency: str
    average: Decimal
    notes: int


@strawberry.type
class CompetitorSummary:
    competitor: str
    notes: int
    wins: int
    losses: int
    unknown: int
    opportunities: int = strawberry.field(description="Distinct opportunities the competitor was met on.")
    average_prices: list[PriceAverage] = strawberry.field(description="Average observed price per currency.")


@strawberry.input
class CompetitorNoteInput:
    competitor: str | None = strawberry.UNSET
    customer_id: strawberry.ID | None = strawberry.UNSET
    opportunity_id: strawberry.ID | None = strawberry.UNSET
    strengths: str | None = strawberry.UNSET
    weaknesses: str | None = strawberry.UNSET
    observed_price: Decimal | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    outcome: CompetitorOutcome | None = strawberry.UNSET
    author: str | None = strawberry.field(default=strawberry.UNSET, description="Defaults to the caller.")


@strawberry.type
class CompetitorNotePayload:
    note: CompetitorNote | None
    errors: list[CrmError]


def _note(row: NoteRow | None, errors: list[CrmError]) -> CompetitorNotePayload:
    return CompetitorNotePayload(note=CompetitorNote.from_row(row) if row else None, errors=errors)


@strawberry.type
class CompetitorQuery:
    @strawberry.field(description="Competitor notes, newest first.")
    async def competitor_notes(
        self,
        info: Info,
        customer: strawberry.ID | None = None,
        opportunity: strawberry.ID | None = None,
        competitor: str | None = None,
    ) -> list[CompetitorNote]:
        rows = await service.list_competitor_notes(
            info.context,
            customer_id=from_id(customer),
            opportunity_id=from_id(opportunity),
            competitor=competitor,
        )
        return [CompetitorNote.from_row(r) for r in rows]

    @strawberry.field(description="Per competitor: notes, wins, losses and average observed prices.")
    async def competitor_summary(self, info: Info, competitor: str | None = None) -> list[CompetitorSummary]:
        return [
            CompetitorSummary(
                competitor=s.competitor,
                notes=s.notes,
                wins=s.wins,
                losses=s.losses,
                unknown=s.unknown,
                opportunities=s.opportunities,
                average_prices=[
                    PriceAverage(currency=p.currency, average=p.average, notes=p.notes)
                    for p in s.average_prices
                ],
            )
            for s in await service.competitor_summary(info.context, competitor=competitor)
        ]


@strawberry.type
class CompetitorMutation:
    @strawberry.mutation
    async def create_competitor_note(self, info: Info, input: CompetitorNoteInput) -> CompetitorNotePayload:
        return _note(*await attempt(service.create_competitor_note(info.context, fields=changes(input))))

    @strawberry.mutation
    async def update_competitor_note(
        self, info: Info, id: strawberry.ID, version: int, input: CompetitorNoteInput
    ) -> CompetitorNotePayload:
        return _note(
            *await attempt(
                service.update_competitor_note(
                    info.context, note_id=str(id), version=version, changes=changes(input)
                )
            )
        )
