"""Sales reps: queries and mutations."""

from __future__ import annotations

import strawberry

from hub.crm.services import reps as service

from ..context import Info
from .common import CrmError, SalesRep, attempt, changes


@strawberry.input
class SalesRepInput:
    name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET


@strawberry.type
class SalesRepPayload:
    sales_rep: SalesRep | None
    errors: list[CrmError]


@strawberry.type
class SalesRepQuery:
    @strawberry.field(description="Sales reps by name; `active` filters.")
    async def sales_reps(self, info: Info, active: bool | None = None) -> list[SalesRep]:
        return [SalesRep.from_row(r) for r in await service.list_sales_reps(info.context, active=active)]

    @strawberry.field
    async def sales_rep(self, info: Info, id: strawberry.ID) -> SalesRep | None:
        row = await service.get_sales_rep(info.context, rep_id=str(id))
        return SalesRep.from_row(row) if row else None


@strawberry.type
class SalesRepMutation:
    @strawberry.mutation
    async def create_sales_rep(self, info: Info, input: SalesRepInput) -> SalesRepPayload:
        row, errors = await attempt(service.create_sales_rep(info.context, fields=changes(input)))
        return SalesRepPayload(sales_rep=SalesRep.from_row(row) if row else None, errors=errors)

    @strawberry.mutation
    async def update_sales_rep(
        self, info: Info, id: strawberry.ID, version: int, input: SalesRepInput
    ) -> SalesRepPayload:
        row, errors = await attempt(
            service.update_sales_rep(info.context, rep_id=str(id), version=version, changes=changes(input))
        )
        return SalesRepPayload(sales_rep=SalesRep.from_row(row) if row else None, errors=errors)
