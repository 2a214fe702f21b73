"""A customer's timeline: silo episodes (orders, invoices, tickets... from the episode registry) merged
with CRM activities, competitor notes and lead/opportunity events, newest first, with keyset cursors
(``occurred_at``, kind, key) so a page boundary stays put when new episodes arrive."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, or_, select

from adapters.sdk import CanonicalRecord
from hub.context import RequestContext
from hub.errors import InvalidCursorError
from hub.pagination import Page, check_page_size, decode_cursor, encode_cursor
from hub.security.permissions import timeline_kind_permission
from hub.services.customers import customer_links, customer_profile
from hub.store.models import HubCustomer

from ..episodes import CRM_KINDS, SILO_EPISODES, Episode, EpisodeProvider, EpisodeRegistry
from ..errors import ValidationError
from ..models import Activity, CompetitorNote, CrmEvent, Lead, Opportunity
from ..validation import from_minor


def known_kinds(registry: EpisodeRegistry = SILO_EPISODES) -> list[str]:
    return [*registry.kinds(), *CRM_KINDS]


def _check_kinds(kinds: Sequence[str] | None, registry: EpisodeRegistry) -> set[str]:
    known = known_kinds(registry)
    if kinds is None:
        return set(known)
    wanted = {k.strip().lower() for k in kinds}
    unknown = sorted(wanted - set(known))
    if unknown:
        raise ValidationError(
            f"unknown timeline kind {unknown[0]!r}; known kinds: {', '.join(known)}", field="kinds"
        )
    return wanted


async def _silo_episodes(
    ctx: RequestContext, customer: HubCustomer, providers: list[EpisodeProvider]
) -> list[Episode]:
    links = await customer_links(ctx, customer=customer)
    email = None
    if any(p.match_on == "email" for p in providers):
        email = (await customer_profile(ctx, customer=customer)).email
    loads = []
    for provider in providers:
        sources = set(ctx.hub.sources.providing(provider.entity, provider.match_on))
        if provider.match_on == "email":
            keys = [(source, email) for source in sorted(sources) if email]
        else:
            keys = [(link.source, link.external_id) for link in links if link.source in sources]
        for source, key in keys:
            loader = ctx.loaders.related(source, provider.entity, provider.match_on)
            loads.append((provider, loader.load(key)))
    groups: list[list[CanonicalRecord]] = list(await asyncio.gather(*(load for _, load in loads)))
    episodes = []
    for (provider, _), records in zip(loads, groups, strict=True):
        for record in records:
            episode = provider.episode(record)
            if episode is not None:
                episodes.append(episode)
    return episodes


async def _crm_episodes(ctx: RequestContext, customer_id: str, kinds: set[str]) -> list[Episode]:
    episodes: list[Episode] = []
    async with ctx.hub.db.session() as session:
        lead_ids = select(Lead.id).where(Lead.converted_customer_id == customer_id)
        opportunity_ids = select(Opportunity.id).where(Opportunity.customer_id == customer_id)
        if "activity" in kinds:
            activities = await session.scalars(
                select(Activity).where(
                    or_(
                        Activity.customer_id == customer_id,
                        Activity.lead_id.in_(lead_ids),
                        Activity.opportunity_id.in_(opportunity_ids),
                    )
                )
            )
            episodes += [_activity_episode(activity) for activity in activities]
        if "competitor_note" in kinds:
            notes = await session.scalars(
                select(CompetitorNote).where(
                    or_(
                        CompetitorNote.customer_id == customer_id,
                        CompetitorNote.opportunity_id.in_(opportunity_ids),
                    )
                )
            )
            episodes += [_note_episode(note) for note in notes]
        subjects = [s for s in ("lead", "opportunity") if s in kinds]
        if subjects:
            # Lead events happened before the lead had a customer: they are found through the conversion.
            events = await session.scalars(
                select(CrmEvent).where(
                    CrmEvent.subject_type.in_(subjects),
                    or_(
                        CrmEvent.customer_id == customer_id,
                        and_(CrmEvent.subject_type == "lead", CrmEvent.subject_id.in_(lead_ids)),
                    ),
                )
            )
            episodes += [_event_episode(event) for event in events]
    return episodes


def _activity_episode(activity: Activity) -> Episode:
    return Episode(
        kind="activity",
        occurred_at=activity.completed_at or activity.due_at or activity.created_at,
        title=f"{activity.type.capitalize()}: {activity.subject}",
        key=activity.id,
        source="crm",
        action=activity.type,
        actor=activity.created_by,
        reference_id=activity.id,
    )


def _note_episode(note: CompetitorNote) -> Episode:
    return Episode(
        kind="competitor_note",
        occurred_at=note.created_at,
        title=f"Competitor {note.competitor} noted",
        key=note.id,
        source="crm",
        action=note.outcome,
        amount=from_minor(note.observed_price_minor),
        currency=note.currency,
        actor=note.author,
        reference_id=note.id,
    )


def _event_episode(event: CrmEvent) -> Episode:
    return Episode(
        kind=event.subject_type,
        occurred_at=event.occurred_at,
        title=event.title,
        key=f"evt:{event.id:012d}",  # zero-padded so keys of equal timestamps sort by insertion
        source="crm",
        action=event.kind.split(".", 1)[1],
        amount=from_minor(event.amount_minor),
        currency=event.currency,
        actor=event.actor,
        reference_id=event.subject_id,
    )


def _sort_key(episode: Episode) -> tuple[dt.datetime, str, str]:
    return (episode.occurred_at, episode.kind, episode.key)


async def customer_timeline(
    ctx: RequestContext,
    *,
    customer: HubCustomer,
    first: int | None = None,
    after: str | None = None,
    kinds: Sequence[str] | None = None,
    registry: EpisodeRegistry = SILO_EPISODES,
) -> Page[Episode]:
    """One page of the customer's episodes of the given ``kinds`` (all when None), newest first."""
    settings = ctx.hub.settings.graphql
    size = check_page_size(first, default=settings.default_page_size, maximum=settings.max_page_size)
    # Kinds the principal may not read (invoices without finance:read ...) are left out, not refused.
    wanted = {k for k in _check_kinds(kinds, registry) if ctx.principal.allows(timeline_kind_permission(k))}
    cursor_kind = f"timeline:{customer.id}"
    boundary = None
    if after is not None:
        when, kind, key = decode_cursor(cursor_kind, after, arity=3)
        try:
            boundary = (dt.datetime.fromisoformat(str(when)), str(kind), str(key))
        except ValueError:
            raise InvalidCursorError("`after` is not a cursor of this list", field="after") from None
    providers = [p for p in registry.providers() if p.kind in wanted]
    silo, crm = await asyncio.gather(
        _silo_episodes(ctx, customer, providers), _crm_episodes(ctx, customer.id, wanted)
    )
    episodes = sorted([*silo, *crm], key=_sort_key, reverse=True)
    remaining = [e for e in episodes if boundary is None or _sort_key(e) < boundary]
    items = remaining[:size]
    return Page(
        items=items,
        cursors=[encode_cursor(cursor_kind, [e.occurred_at.isoformat(), e.kind, e.key]) for e in items],
        total_count=len(episodes),
        has_next_page=len(remaining) > size,
        has_previous_page=after is not None,
    )
