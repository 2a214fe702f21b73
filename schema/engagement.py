"""Support tickets and marketing engagement."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from hub.services import engagement
from hub.services.engagement import MarketingProfile as MarketingProfileData

from .context import Info
from .records import SourceRecord, record_field


@strawberry.enum
class TicketStatus(Enum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    HOLD = "hold"
    SOLVED = "solved"
    CLOSED = "closed"


@strawberry.type
class Ticket(SourceRecord):
    subject: str = record_field("subject", str)
    status: str = record_field("status", str, "The support desk's own status word (new, open, pending...).")
    priority: str | None = record_field("priority", str | None)
    requester_email: str | None = record_field("requester_email", str | None)
    created_at: datetime | None = record_field("created_at", datetime | None)
    updated_at: datetime | None = record_field("updated_at", datetime | None)


@strawberry.type
class ListMembership:
    _record: strawberry.Private[Any]

    list_id: str | None = record_field("list_id", str | None)
    list_name: str | None = record_field("list_name", str | None)
    email: str = record_field("email", str)
    status: str = record_field("status", str, "subscribed, unsubscribed, cleaned or pending.")
    source: str = record_field("source", str)


@strawberry.type
class CampaignActivity:
    _record: strawberry.Private[Any]

    campaign_id: str = record_field("campaign_id", str)
    campaign_name: str | None = record_field("campaign_name", str | None)
    action: str = record_field("action", str, "open, click, bounce...")
    email: str = record_field("email", str)
    occurred_at: datetime | None = record_field("occurred_at", datetime | None)


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
    async def campaign_activity(self, info: Info, first: int = 20) -> list[CampaignActivity]:
        found = await engagement.campaign_activity(info.context, profile=self._data)
        return [CampaignActivity(_record=a) for a in found[: max(first, 0)]]
