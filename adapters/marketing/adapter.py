"""The built-in adapter of the e-mail marketing API: one audience's members and its campaigns' activity.

Scans read the API page by page (``count``/``offset``; ``since_last_changed`` for members and ``since``
for activity in incremental scans). Batch reads (members by subscriber hash or e-mail, activity by e-mail)
have no batch endpoint upstream, so they are answered from a local copy of the audience (see
``adapters.marketing.mirror``): each batch first brings the copy up to date with one delta call, so a batch
costs one call whatever its size. Authentication is HTTP Basic with the API key::

    sources:
      - name: marketing
        adapter: marketing
        config:
          base_url: https://us21.api.mailchimp.com
          api_key: 0123...-us21
          list_id: a1b2c3d4e5
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from urllib.parse import quote

import httpx
from pydantic import Field, SecretStr

from adapters.sdk import CampaignActivity, CanonicalRecord, Entity, MarketingMember
from adapters.sdk.rest import (
    BasicAuth,
    Endpoint,
    OffsetPaginator,
    PageRequest,
    PageResponse,
    Paginator,
    RESTAdapter,
    RESTConfig,
    read_json,
)
from adapters.sdk.types import ExternalId, RawRecord

from .mappings import ACTIVITY, LIST_NAME, MEMBER, activity_events, without_blank_merge_fields
from .mirror import ActivityCopy, Campaign, MemberCopy, SingleFlight

PAGE_SIZE = 1000  # the most the API returns per page
MEMBER_FIELDS = (
    "members.id,members.email_address,members.status,members.merge_fields,members.last_changed,"
    "members.list_id,total_items"
)
CAMPAIGN_FIELDS = "campaigns.id,campaigns.send_time,campaigns.settings.title,total_items"
ACTIVITY_FIELDS = "emails.email_id,emails.email_address,emails.activity,total_items"
#: Delta reads start this much before the last change seen: changes stamped in the same second as the
#: previous read's newest one are not missed (re-reading a few members is harmless).
DELTA_OVERLAP = timedelta(seconds=1)
#: Activity deltas start this much before the previous read, for clock skew between us and the API.
CLOCK_SKEW = timedelta(minutes=5)


def _pages() -> OffsetPaginator:
    return OffsetPaginator(
        limit=PAGE_SIZE, offset_param="offset", limit_param="count", total_path="total_items"
    )


class MarketingConfig(RESTConfig):
    """``base_url`` is the API root (the paths start with ``/3.0``)."""

    api_key: SecretStr
    list_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")
    #: Batches within this many seconds of the last refresh of the local copy skip the delta call
    #: (0: every batch sees the audience as it is now).
    refresh_interval_seconds: float = Field(0.0, ge=0)
    #: The local copy is rebuilt from a full read this often, so deletions upstream show too.
    resync_interval_seconds: float = Field(3600.0, gt=0)
    #: Campaigns sent within this many days get their new activity read with every refresh; the
    #: activity of older ones is taken as settled until the next full rebuild.
    activity_window_days: float = Field(7.0, ge=0)


class MarketingAdapter(RESTAdapter[MarketingConfig]):
    name = "marketing"
    config_model = MarketingConfig
    check_path = "/3.0/ping"
    endpoints = {
        Entity.MARKETING_MEMBER: Endpoint(
            path="/3.0/lists/{list_id}/members",
            record_path="members",
            params={"fields": MEMBER_FIELDS},
            paginator=_pages(),
            mapping=MEMBER,
            since_param="since_last_changed",
        ),
        # Scans walk the sent campaigns, then each one's report (``_EMAIL_ACTIVITY``).
        Entity.CAMPAIGN_ACTIVITY: Endpoint(
            path="/3.0/campaigns",
            record_path="campaigns",
            params={"status": "sent", "fields": CAMPAIGN_FIELDS},
            paginator=_pages(),
            mapping=ACTIVITY,
        ),
    }

    def __init__(
        self,
        *,
        source: str,
        config: MarketingConfig,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(source=source, config=config, transport=transport)
        self._clock = clock
        self.members = MemberCopy()
        self.activity = ActivityCopy()
        self._member_refresh = SingleFlight(clock)
        self._activity_refresh = SingleFlight(clock)
        self._list_name: str | None = None

    def build_auth(self) -> httpx.Auth:
        return BasicAuth("crmhub", self.config.api_key)  # the API ignores the user name

    # -- answers ------------------------------------------------------------------------------------

    def build_scan_request(self, entity: Entity, since: datetime | None = None) -> PageRequest:
        request = super().build_scan_request(entity, since)
        if entity is Entity.CAMPAIGN_ACTIVITY:
            return request.with_params(list_id=self.config.list_id)
        return request

    def extract_records(self, entity: Entity, response: PageResponse) -> list[RawRecord]:
        records = super().extract_records(entity, response)
        if entity is Entity.MARKETING_MEMBER:
            return [without_blank_merge_fields(record) for record in records]
        return records

    async def pages(
        self,
        entity: Entity,
        request: PageRequest,
        *,
        paginator: Paginator | None = None,
        record_path: str | None = None,
    ) -> AsyncIterator[list[RawRecord]]:
        async for page in super().pages(entity, request, paginator=paginator, record_path=record_path):
            if entity is Entity.MARKETING_MEMBER and page:
                name = await self.list_name()
                page = [{**record, LIST_NAME: name} for record in page]
            yield page

    async def list_name(self) -> str | None:
        """The audience's name, read once."""
        if self._list_name is None:
            path = self.render_path("/3.0/lists/{list_id}")
            response = await self.http.send(
                PageRequest(path, {"fields": "id,name"}), entity="marketing_member"
            )
            name = read_json(response.body, "name")
            self._list_name = name if isinstance(name, str) else ""
        return self._list_name or None

    # -- scans --------------------------------------------------------------------------------------

    async def scan(self, entity: Entity, since: datetime | None = None) -> AsyncIterator[CanonicalRecord]:
        if entity is not Entity.CAMPAIGN_ACTIVITY:
            async for record in super().scan(entity, since):
                yield record
            return
        self.mapping_for(entity)
        async for page in self.pages(entity, self.build_scan_request(entity)):
            for campaign in (_campaign(raw) for raw in page):
                if campaign is None:
                    continue
                async for events in self._events(campaign, since):
                    for event in events:
                        if since is None or event.updated_at is None or event.updated_at > since:
                            yield event

    async def _events(
        self, campaign: Campaign, since: datetime | None
    ) -> AsyncIterator[list[CampaignActivity]]:
        """The activity events of one campaign (after ``since`` when given), page by page."""
        params = {"fields": ACTIVITY_FIELDS}
        if since is not None:
            params["since"] = since.astimezone(UTC).isoformat(timespec="seconds")
        request = PageRequest(f"/3.0/reports/{quote(campaign.id, safe='')}/email-activity", params)
        # A report lists recipients under "emails", each with the events of its "activity".
        pages = self.pages(Entity.CAMPAIGN_ACTIVITY, request, paginator=_pages(), record_path="emails")
        async for page in pages:
            events = activity_events(campaign.id, campaign.title, page)
            yield [_activity(ACTIVITY.build(self.source, raw)) for raw in events]

    async def _campaigns(self, sent_after: datetime | None) -> list[Campaign]:
        request = self.build_scan_request(Entity.CAMPAIGN_ACTIVITY)
        if sent_after is not None:
            request = request.with_params(
                since_send_time=sent_after.astimezone(UTC).isoformat(timespec="seconds")
            )
        found = [
            c async for page in self.pages(Entity.CAMPAIGN_ACTIVITY, request) for c in map(_campaign, page)
        ]
        return [c for c in found if c is not None and (sent_after is None or c.sent_at > sent_after)]

    async def _read_activity(
        self, campaign: Campaign, since: datetime | None
    ) -> tuple[Campaign, list[CampaignActivity]]:
        return campaign, [event async for events in self._events(campaign, since) for event in events]

    # -- the local copy -----------------------------------------------------------------------------

    async def _refresh_members(self) -> None:
        started = self._clock()
        copy = self.members
        full = copy.filled_at is None or started - copy.filled_at >= self.config.resync_interval_seconds
        since = None if full or copy.watermark is None else copy.watermark - DELTA_OVERLAP
        request = self.build_scan_request(Entity.MARKETING_MEMBER, since)
        read = [
            _member(MEMBER.build(self.source, raw))
            async for page in self.pages(Entity.MARKETING_MEMBER, request)
            for raw in page
        ]
        if full:
            copy.replace(read, filled_at=started)
        else:
            copy.apply(read)

    async def _refresh_activity(self) -> None:
        started, now = self._clock(), datetime.now(UTC)
        copy = self.activity
        if copy.filled_at is None or started - copy.filled_at >= self.config.resync_interval_seconds:
            campaigns = await self._campaigns(None)
            reads = await _all(self._read_activity(c, None) for c in campaigns)
            copy.replace(reads, read_at=now, filled_at=started)
            return
        new = await self._campaigns(copy.latest_send)
        recent_since = now - timedelta(days=self.config.activity_window_days)
        recent = [c for c in copy.campaigns.values() if c.sent_at >= recent_since]
        reads = await _all(
            [
                *(self._read_activity(c, None) for c in new if c.id not in copy.campaigns),
                *(self._read_activity(c, copy.read_at[c.id] - CLOCK_SKEW) for c in recent),
            ]
        )
        copy.apply(reads, read_at=now)

    async def refresh(self) -> None:
        """Bring the local copy up to date now (the first call fills it): e.g. at start-up, so the first
        batches do not wait for the full read."""
        await _all(
            [
                self._member_refresh.run(self._refresh_members, max_age=0),
                self._activity_refresh.run(self._refresh_activity, max_age=0),
            ]
        )

    async def _fresh(self, entity: Entity) -> None:
        max_age = self.config.refresh_interval_seconds
        if entity is Entity.MARKETING_MEMBER:
            await self._member_refresh.run(self._refresh_members, max_age=max_age)
        else:
            await self._activity_refresh.run(self._refresh_activity, max_age=max_age)

    # -- batch reads --------------------------------------------------------------------------------

    async def get_many(self, entity: Entity, keys: Sequence[ExternalId]) -> list[CanonicalRecord | None]:
        self.mapping_for(entity)
        if not keys:
            return []
        await self._fresh(entity)
        if entity is Entity.MARKETING_MEMBER:
            return [self.members.get(str(key)) for key in keys]
        return [self.activity.by_id.get(str(key)) for key in keys]

    async def find_related(
        self, entity: Entity, by_field: str, values: Sequence[str]
    ) -> list[list[CanonicalRecord]]:
        self.mapping_for(entity, by_field)  # only "email" is declared
        if not values:
            return []
        await self._fresh(entity)
        if entity is Entity.MARKETING_MEMBER:
            return [[m] if (m := self.members.with_email(str(v))) is not None else [] for v in values]
        return [list(self.activity.of_email(str(value))) for value in values]

    async def aclose(self) -> None:
        await self._member_refresh.aclose()
        await self._activity_refresh.aclose()
        await super().aclose()


def _campaign(raw: RawRecord) -> Campaign | None:
    """A sent campaign of the listing; unsent ones (no send time) have no activity to read."""
    campaign_id, title, sent = raw.get("id"), read_json(raw, "settings.title"), raw.get("send_time")
    try:
        sent_at = datetime.fromisoformat(sent.replace("Z", "+00:00")) if isinstance(sent, str) else None
    except ValueError:
        sent_at = None
    if not isinstance(campaign_id, str) or not campaign_id or sent_at is None:
        return None
    sent_at = sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=UTC)
    return Campaign(campaign_id, title if isinstance(title, str) else None, sent_at)


def _member(record: CanonicalRecord) -> MarketingMember:
    assert isinstance(record, MarketingMember)  # MEMBER maps onto MarketingMember
    return record


def _activity(record: CanonicalRecord) -> CampaignActivity:
    assert isinstance(record, CampaignActivity)  # ACTIVITY maps onto CampaignActivity
    return record


T = TypeVar("T")


async def _all(calls: Iterable[Awaitable[T]]) -> list[T]:
    """Run reads concurrently (the client's concurrency limit applies); the first failure cancels the rest."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
