"""The customer timeline: one stream of silo episodes and CRM activity (the ``Customer.timeline`` field)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from hub.crm.episodes import Episode
from hub.crm.services.timeline import customer_timeline
from hub.store.models import HubCustomer

from ..context import Info
from ..relay import Connection


@strawberry.type(description="One thing that happened with a customer, in a silo or in the CRM.")
class TimelineEpisode:
    kind: str = strawberry.field(
        description="order, invoice, payment, ticket, campaign, activity, "
        "competitor_note, lead, opportunity ..."
    )
    action: str | None = strawberry.field(description="What happened: call, stage_changed, won, shipped ...")
    occurred_at: dt.datetime
    title: str
    source: str = strawberry.field(description="The silo it comes from, or crm.")
    reference_id: str | None = strawberry.field(description="Id of the record in its source.")
    amount: Decimal | None
    currency: str | None
    actor: str | None

    @classmethod
    def from_episode(cls, episode: Episode) -> TimelineEpisode:
        return cls(
            kind=episode.kind,
            action=episode.action,
            occurred_at=episode.occurred_at,
            title=episode.title,
            source=episode.source,
            reference_id=episode.reference_id,
            amount=episode.amount,
            currency=episode.currency,
            actor=episode.actor,
        )


async def resolve_timeline(
    info: Info, customer: HubCustomer, first: int | None, after: str | None, kinds: list[str] | None
) -> Connection[TimelineEpisode]:
    page = await customer_timeline(info.context, customer=customer, first=first, after=after, kinds=kinds)
    return Connection.from_page(page, TimelineEpisode.from_episode)
