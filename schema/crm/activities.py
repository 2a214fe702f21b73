"""Activities and the call queue."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry

from hub.crm.models import Activity as ActivityRow
from hub.crm.services import activities as service

from ..context import Info
from ..relay import Connection
from .common import Audited, CrmError, SalesRep, attempt, audit, changes, from_id, load_rep, to_id


@strawberry.enum
class ActivityType(Enum):
    CALL = "call"
    MEETING = "meeting"
    EMAIL = "email"
    NOTE = "note"
    TASK = "task"


@strawberry.type
class Activity(Audited):
    id: strawberry.ID
    type: ActivityType
    subject: str
    body: str | None
    due_at: dt.datetime | None
    done: bool
    completed_at: dt.datetime | None
    customer_id: strawberry.ID | None
    lead_id: strawberry.ID | None
    opportunity_id: strawberry.ID | None
    _row: strawberry.Private[ActivityRow]

    @classmethod
    def from_row(cls, row: ActivityRow) -> Activity:
        return cls(
            id=strawberry.ID(row.id),
            type=ActivityType(row.type),
            subject=row.subject,
            body=row.body,
            due_at=row.due_at,
            done=row.done,
            completed_at=row.completed_at,
            customer_id=to_id(row.customer_id),
            lead_id=to_id(row.lead_id),
            opportunity_id=to_id(row.opportunity_id),
            _row=row,
            **audit(row),
        )

    @strawberry.field
    async def owner(self, info: Info) -> SalesRep | None:
        return await load_rep(info, self._row.owner_id)


@strawberry.input
class ActivityInput:
    type: ActivityType | None = strawberry.UNSET
    subject: str | None = strawberry.UNSET
    body: str | None = strawberry.UNSET
    due_at: dt.datetime | None = strawberry.UNSET
    done: bool | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    customer_id: strawberry.ID | None = strawberry.UNSET
    lead_id: strawberry.ID | None = strawberry.UNSET
    opportunity_id: strawberry.ID | None = strawberry.UNSET


@strawberry.type
class ActivityPayload:
    activity: Activity | None
    errors: list[CrmError]


def _activity(row: ActivityRow | None, errors: list[CrmError]) -> ActivityPayload:
    return ActivityPayload(activity=Activity.from_row(row) if row else None, errors=errors)


@strawberry.type
class ActivityQuery:
    @strawberry.field(description="Activities, newest first.")
    async def activities(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        customer: strawberry.ID | None = None,
        lead: strawberry.ID | None = None,
        opportunity: strawberry.ID | None = None,
        owner: strawberry.ID | None = None,
        type: ActivityType | None = None,
        done: bool | None = None,
    ) -> Connection[Activity]:
        page = await service.list_activities(
            info.context,
            first=first,
            after=after,
            customer_id=from_id(customer),
            lead_id=from_id(lead),
            opportunity_id=from_id(opportunity),
            owner_id=from_id(owner),
            type=type.value if type else None,
            done=done,
        )
        return Connection.from_page(page, Activity.from_row)

    @strawberry.field(description="The rep's open tasks, earliest due first (undated last).")
    async def call_queue(self, info: Info, owner: strawberry.ID, first: int = 50) -> list[Activity]:
        return [
            Activity.from_row(r)
            for r in await service.call_queue(info.context, owner_id=str(owner), limit=first)
        ]


@strawberry.type
class ActivityMutation:
    @strawberry.mutation
    async def create_activity(self, info: Info, input: ActivityInput) -> ActivityPayload:
        return _activity(*await attempt(service.create_activity(info.context, fields=changes(input))))

    @strawberry.mutation
    async def update_activity(
        self, info: Info, id: strawberry.ID, version: int, input: ActivityInput
    ) -> ActivityPayload:
        return _activity(
            *await attempt(
                service.update_activity(
                    info.context, activity_id=str(id), version=version, changes=changes(input)
                )
            )
        )
