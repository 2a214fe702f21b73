"""Opportunities, the configurable stages and the pipeline report."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.crm.loaders import crm_loaders
from hub.crm.models import Opportunity as OpportunityRow
from hub.crm.models import OpportunityStage as StageRow
from hub.crm.services import opportunities as service
from hub.crm.services import pipeline as pipeline_service
from hub.crm.services import stages as stage_service
from hub.crm.validation import from_minor
from hub.services.customers import get_customer

from ..context import Info
from ..relay import Connection
from .common import Audited, CrmError, SalesRep, attempt, audit, changes, from_id, load_rep, to_id
from .territories import Territory, load_territory

if TYPE_CHECKING:
    from ..customer import Customer

CustomerRef = Annotated["Customer", strawberry.lazy("schema.customer")]


@strawberry.enum
class ForecastCategory(Enum):
    PIPELINE = "Pipeline"
    BEST_CASE = "Best Case"
    COMMIT = "Commit"
    CLOSED = "Closed"
    OMITTED = "Omitted"


@strawberry.enum
class PipelineGrouping(Enum):
    TERRITORY = "territory"
    OWNER = "owner"
    MONTH = "month"


@strawberry.type
class OpportunityStage(Audited):
    name: str
    position: int
    probability: int = strawberry.field(description="Default probability (percent) of deals in this stage.")
    forecast_category: ForecastCategory
    is_closed: bool
    is_won: bool

    @classmethod
    def from_row(cls, row: StageRow) -> OpportunityStage:
        return cls(
            name=row.name,
            position=row.position,
            probability=row.probability,
            forecast_category=ForecastCategory(row.forecast_category),
            is_closed=row.is_closed,
            is_won=row.is_won,
            **audit(row),
        )


@strawberry.type
class Opportunity(Audited):
    id: strawberry.ID
    customer_id: strawberry.ID
    name: str
    amount: Decimal
    currency: str
    stage: str
    probability: int
    weighted_amount: Decimal = strawberry.field(description="amount x probability")
    close_date: dt.date
    forecast_category: ForecastCategory
    lost_reason: str | None
    closed_at: dt.datetime | None
    lead_id: strawberry.ID | None
    _row: strawberry.Private[OpportunityRow]

    @classmethod
    def from_row(cls, row: OpportunityRow) -> Opportunity:
        amount = from_minor(row.amount_minor) or Decimal(0)
        return cls(
            id=strawberry.ID(row.id),
            customer_id=strawberry.ID(row.customer_id),
            name=row.name,
            amount=amount,
            currency=row.currency,
            stage=row.stage,
            probability=row.probability,
            weighted_amount=(amount * row.probability / 100).quantize(Decimal("0.01")),
            close_date=row.close_date,
            forecast_category=ForecastCategory(row.forecast_category),
            lost_reason=row.lost_reason,
            closed_at=row.closed_at,
            lead_id=to_id(row.lead_id),
            _row=row,
            **audit(row),
        )

    @strawberry.field
    async def customer(self, info: Info) -> CustomerRef | None:
        from ..customer import Customer

        row = await get_customer(info.context, customer_id=self._row.customer_id)
        return Customer(_row=row) if row else None

    @strawberry.field
    async def owner(self, info: Info) -> SalesRep | None:
        return await load_rep(info, self._row.owner_id)

    @strawberry.field
    async def territory(self, info: Info) -> Territory | None:
        return await load_territory(info, self._row.territory_id)

    @strawberry.field(description="Competitors named in competitor notes on this opportunity.")
    async def competitors(self, info: Info) -> list[str]:
        return await crm_loaders(info.context).competitors.load(self._row.id)


@strawberry.input
class OpportunityInput:
    customer_id: strawberry.ID
    name: str
    amount: Decimal
    currency: str
    stage: str
    close_date: dt.date
    probability: int | None = strawberry.field(
        default=strawberry.UNSET, description="Defaults to the stage's."
    )
    forecast_category: ForecastCategory | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    territory_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Defaults to the customer's territory."
    )
    lost_reason: str | None = strawberry.UNSET


@strawberry.input(description="Changes to an opportunity; a new stage brings its default probability.")
class OpportunityUpdateInput:
    name: str | None = strawberry.UNSET
    amount: Decimal | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    stage: str | None = strawberry.UNSET
    close_date: dt.date | None = strawberry.UNSET
    probability: int | None = strawberry.UNSET
    forecast_category: ForecastCategory | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    territory_id: strawberry.ID | None = strawberry.UNSET
    lost_reason: str | None = strawberry.UNSET


@strawberry.input(description="The opportunity a lead conversion opens; unset fields come from the lead.")
class OpportunityDraftInput(OpportunityUpdateInput):
    pass


@strawberry.input
class OpportunityStageInput:
    position: int | None = strawberry.UNSET
    probability: int | None = strawberry.UNSET
    forecast_category: ForecastCategory | None = strawberry.UNSET
    is_closed: bool | None = strawberry.UNSET
    is_won: bool | None = strawberry.UNSET


@strawberry.type
class OpportunityPayload:
    opportunity: Opportunity | None
    errors: list[CrmError]


@strawberry.type
class OpportunityStagePayload:
    stage: OpportunityStage | None
    errors: list[CrmError]


@strawberry.type
class PipelineGroup:
    key: str | None = strawberry.field(description="Territory id, owner id or YYYY-MM; null = unassigned.")
    label: str
    currency: str
    count: int
    amount: Decimal
    weighted_amount: Decimal = strawberry.field(description="Sum of amount x probability.")


def _opportunity(row: OpportunityRow | None, errors: list[CrmError]) -> OpportunityPayload:
    return OpportunityPayload(opportunity=Opportunity.from_row(row) if row else None, errors=errors)


@strawberry.type
class OpportunityQuery:
    @strawberry.field
    async def opportunity(self, info: Info, id: strawberry.ID) -> Opportunity | None:
        row = await service.get_opportunity(info.context, opportunity_id=str(id))
        return Opportunity.from_row(row) if row else None

    @strawberry.field(description="Opportunities by close date, soonest first.")
    async def opportunities(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        customer: strawberry.ID | None = None,
        stage: str | None = None,
        owner: strawberry.ID | None = None,
        territory: strawberry.ID | None = None,
        include_subterritories: bool = False,
        open_only: bool = False,
    ) -> Connection[Opportunity]:
        page = await service.list_opportunities(
            info.context,
            first=first,
            after=after,
            customer_id=from_id(customer),
            stage=stage,
            owner_id=from_id(owner),
            territory_id=from_id(territory),
            include_subterritories=include_subterritories,
            open_only=open_only,
        )
        return Connection.from_page(page, Opportunity.from_row)

    @strawberry.field
    async def opportunity_stages(self, info: Info) -> list[OpportunityStage]:
        return [OpportunityStage.from_row(r) for r in await stage_service.list_stages(info.context)]

    @strawberry.field(description="Open deals (all with includeClosed) per group and currency.")
    async def pipeline(
        self,
        info: Info,
        group_by: PipelineGrouping,
        include_closed: bool = False,
        currency: str | None = None,
    ) -> list[PipelineGroup]:
        groups = await pipeline_service.pipeline(
            info.context, group_by=group_by.value, include_closed=include_closed, currency=currency
        )
        return [
            PipelineGroup(
                key=g.key,
                label=g.label,
                currency=g.currency,
                count=g.count,
                amount=g.amount,
                weighted_amount=g.weighted_amount,
            )
            for g in groups
        ]


@strawberry.type
class OpportunityMutation:
    @strawberry.mutation
    async def create_opportunity(self, info: Info, input: OpportunityInput) -> OpportunityPayload:
        return _opportunity(*await attempt(service.create_opportunity(info.context, fields=changes(input))))

    @strawberry.mutation
    async def update_opportunity(
        self, info: Info, id: strawberry.ID, version: int, input: OpportunityUpdateInput
    ) -> OpportunityPayload:
        return _opportunity(
            *await attempt(
                service.update_opportunity(
                    info.context, opportunity_id=str(id), version=version, changes=changes(input)
                )
            )
        )

    @strawberry.mutation(description="Add a stage (version null) or change one (its current version).")
    async def configure_opportunity_stage(
        self, info: Info, name: str, input: OpportunityStageInput, version: int | None = None
    ) -> OpportunityStagePayload:
        row, errors = await attempt(
            stage_service.configure_stage(info.context, name=name, fields=changes(input), version=version)
        )
        return OpportunityStagePayload(stage=OpportunityStage.from_row(row) if row else None, errors=errors)
