"""The marketing adapter's local copy of the audience and of its campaigns' e-mail activity.

The marketing API cannot read many members by e-mail or id in one call, nor the activity of many
addresses: it only lists a whole audience (with ``since_last_changed``) and a whole campaign report (with
``since``). So the adapter answers batch reads from a copy kept here: filled by one paged read, brought up
to date by a delta read before each batch (one call when little changed), rebuilt from scratch every
``resync_interval_seconds`` so members and campaigns deleted upstream disappear too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from adapters.sdk import CampaignActivity, MarketingMember

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _consume(task: asyncio.Task[None]) -> None:
    # Every caller may have given up (timeouts); the outcome must still count as retrieved.
    if not task.cancelled():
        task.exception()


class SingleFlight:
    """One refresh at a time: callers that arrive while one runs wait for it instead of starting theirs.

    The refresh runs as its own task, so a caller that times out does not abort it for the others (nor
    waste the calls already made).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        #: When the last successful refresh started (``None``: never refreshed).
        self.last_success: float | None = None

    async def run(self, refresh: Callable[[], Awaitable[None]], *, max_age: float) -> None:
        task = self._task
        if task is None or task.done():
            if self.last_success is not None and self._clock() - self.last_success < max_age:
                return
            task = self._task = asyncio.ensure_future(self._timed(refresh))
            task.add_done_callback(_consume)
        await asyncio.shield(task)

    async def _timed(self, refresh: Callable[[], Awaitable[None]]) -> None:
        started = self._clock()
        await refresh()
        self.last_success = started

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


@dataclass
class MemberCopy:
    """Members by id and by lower-cased address; ``watermark`` is the latest ``last_changed`` seen."""

    by_id: dict[str, MarketingMember] = field(default_factory=dict)
    by_email: dict[str, str] = field(default_factory=dict)
    watermark: datetime | None = None
    #: Monotonic time the last full read started (``None``: never filled).
    filled_at: float | None = None

    def replace(self, members: Iterable[MarketingMember], *, filled_at: float) -> None:
        self.by_id, self.by_email, self.watermark = {}, {}, None
        self.apply(members)
        self.filled_at = filled_at

    def apply(self, members: Iterable[MarketingMember]) -> None:
        for member in members:
            previous = self.by_id.get(member.external_id)
            if previous is not None and previous.email.lower() != member.email.lower():
                self.by_email.pop(previous.email.lower(), None)
            self.by_id[member.external_id] = member
            self.by_email[member.email.lower()] = member.external_id
            if member.updated_at is not None and (
                self.watermark is None or member.updated_at > self.watermark
            ):
                self.watermark = member.updated_at

    def get(self, key: str) -> MarketingMember | None:
        return self.by_id.get(key.lower())

    def with_email(self, email: str) -> MarketingMember | None:
        member_id = self.by_email.get(email.lower())
        return self.by_id.get(member_id) if member_id is not None else None


@dataclass(frozen=True)
class Campaign:
    id: str
    title: str | None
    sent_at: datetime


@dataclass
class ActivityCopy:
    """Activity events by id and by lower-cased address, and the campaigns they were read from."""

    by_id: dict[str, CampaignActivity] = field(default_factory=dict)
    by_email: dict[str, dict[str, CampaignActivity]] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    #: Per campaign, the (upstream-clock) moment its activity was last read from.
    read_at: dict[str, datetime] = field(default_factory=dict)
    filled_at: float | None = None

    @property
    def latest_send(self) -> datetime | None:
        return max((c.sent_at for c in self.campaigns.values()), default=None)

    def replace(
        self, reads: Iterable[tuple[Campaign, list[CampaignActivity]]], *, read_at: datetime, filled_at: float
    ) -> None:
        self.by_id, self.by_email, self.campaigns, self.read_at = {}, {}, {}, {}
        self.apply(reads, read_at=read_at)
        self.filled_at = filled_at

    def apply(self, reads: Iterable[tuple[Campaign, list[CampaignActivity]]], *, read_at: datetime) -> None:
        for campaign, events in reads:
            self.campaigns[campaign.id] = campaign
            self.read_at[campaign.id] = read_at
            for event in events:
                self.by_id[event.external_id] = event
                self.by_email.setdefault(event.email.lower(), {})[event.external_id] = event

    def of_email(self, email: str) -> list[CampaignActivity]:
        events = self.by_email.get(email.lower(), {}).values()
        return sorted(events, key=lambda e: (e.occurred_at or _EPOCH, e.external_id))
