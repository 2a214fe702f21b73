"""Support tickets and marketing engagement of a customer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from adapters.sdk import CampaignActivity, Entity, MarketingMember, Ticket

from ..context import RequestContext
from ..store.models import HubCustomer
from .customers import linked_entities, linked_records

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def customer_tickets(
    ctx: RequestContext, *, customer: HubCustomer, statuses: set[str] | None = None
) -> list[Ticket]:
    """Tickets of the customer's organisations in every support source, newest first."""
    found = await linked_records(ctx, customer=customer, entity=Entity.TICKET)
    tickets = [r for r in found if isinstance(r, Ticket)]
    if statuses:
        tickets = [t for t in tickets if t.status.lower() in statuses]
    tickets.sort(key=lambda t: (t.created_at or _EPOCH, t.external_id), reverse=True)
    return tickets


@dataclass(frozen=True, slots=True)
class MarketingProfile:
    members: list[MarketingMember]

    @property
    def subscribed(self) -> bool:
        return any(m.status == "subscribed" for m in self.members)


async def customer_marketing(ctx: RequestContext, *, customer: HubCustomer) -> MarketingProfile | None:
    """List memberships linked to the customer (campaign activity is read only when asked for: it needs
    the members' addresses first, a second round trip to the marketing source)."""
    members = [
        m
        for m in await linked_entities(ctx, customer=customer, entity=Entity.MARKETING_MEMBER)
        if isinstance(m, MarketingMember)
    ]
    return MarketingProfile(members=members) if members else None


async def campaign_activity(ctx: RequestContext, *, profile: MarketingProfile) -> list[CampaignActivity]:
    """Opens, clicks and bounces of the profile's addresses, newest first."""
    by_source: dict[str, set[str]] = {}
    for member in profile.members:
        by_source.setdefault(member.source, set()).add(member.email.lower())
    loads = [
        ctx.loaders.related(source, Entity.CAMPAIGN_ACTIVITY, "email").load(email)
        for source, emails in by_source.items()
        if "email" in ctx.hub.sources.adapter(source).relations(Entity.CAMPAIGN_ACTIVITY)
        for email in sorted(emails)
    ]
    activity = [a for group in await asyncio.gather(*loads) for a in group if isinstance(a, CampaignActivity)]
    activity.sort(key=lambda a: (a.occurred_at or _EPOCH, a.campaign_id), reverse=True)
    return activity
