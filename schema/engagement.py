"""Support tickets and marketing engagement."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from adapters.sdk import CampaignActivity as CampaignActivityRecord
from adapters.sdk import MarketingMember as MarketingMemberRecord
from adapters.sdk import Ticket as TicketRecord
from hub.services.engagement import MarketingProfile as MarketingProfileData


@strawberry.enum
class TicketStatus(Enum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    HOLD = "hold"
    SOLVED = "solved"
    CLOSED = "closed"


@strawberry.type
class Ticket:
    _record: strawberry.Private[TicketRecord]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(f"{self._record.source}:{self._record.external_id}")

    @strawberry.field
    def source(self) -> str:
        return self._record.source

    @strawberry.field
    def subject(self) -> str:
        return self._record.subject

    @strawberry.field(description="The support desk's own status word (new, open, pending, solved...).")
    def status(self) -> str:
        return self._record.status

    @strawberry.field
    def priority(self) -> str | None:
        return self._record.priority

    @strawberry.field
    def requester_email(self) -> str | None:
        return self._record.requester_email

    @strawberry.field
    def created_at(self) -> datetime | None:
        return self._record.created_at

    @strawberry.field
    def updated_at(self) -> datetime | None:
        return self._record.updated_at


@strawberry.type
class ListMembership:
    _record: strawberry.Private[MarketingMemberRecord]

    @strawberry.field
    def list_id(self) -> str | None:
        return self._record.list_id

    @strawberry.field
    def list_name(self) -> str | None:
        return self._record.list_name

    @strawberry.field
    def email(self) -> str:
        return self._record.email

    @strawberry.field(description="subscribed, unsubscribed, cleaned or pending.")
    def status(self) -> str:
        return self._record.status

    @strawberry.field
    def source(self) -> str:
        return self._record.source


@strawberry.type
class CampaignActivity:
    _record: strawberry.Private[CampaignActivityRecord]

    @strawberry.field
    def campaign_id(self) -> str:
        return self._record.campaign_id

    @strawberry.field
    def campaign_name(self) -> str | None:
        return self._record.campaign_name

    @strawberry.field(description="open, click, bounce...")
    def action(self) -> str:
        return self._record.action

    @strawberry.field
    def email(self) -> str:
        return self._record.email

    @strawberry.field
    def occurred_at(self) -> datetime | None:
        return self._record.occurred_at


@strawberry.type
class Marketing:
    _data: strawberry.Private[MarketingProfileData]

    @strawberry.field(description="Whether any linked address is subscribed to any list.")
    def subscribed(self) -> bool:
        return self._data.subscribed

    @strawberry.field
    def lists(self) -> list[ListMembership]:
        return [ListMembership(_record=m) for m in self._data.members]

    @strawberry.field(description="Opens, clicks and bounces, newest first.")
    def campaign_activity(self, first: int = 20) -> list[CampaignActivity]:
        return [CampaignActivity(_record=a) for a in self._data.activity[: max(first, 0)]]
