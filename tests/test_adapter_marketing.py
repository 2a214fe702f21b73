"""The built-in marketing adapter against the marketing silo over real HTTP: the conformance kit, then
mapping, the local copy (one delta call per batch, new and changed members, new campaigns, deletions on
resync), 429s, broken pages and bad credentials."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.marketing import MarketingAdapter, MarketingConfig
from adapters.sdk import (
    AdapterRegistry,
    CampaignActivity,
    Entity,
    MalformedResponseError,
    MarketingMember,
    UpstreamAuthError,
)
from adapters.sdk.testing import AdapterConformance, ConformanceExpectations
from silos import marketing
from silos.faults import Faults
from silos.marketing.data import Campaign, MarketingData, subscriber_hash
from tests.support.adapter_fixtures import closing, failing_adapter_fixtures
from tests.support.rest_silos import CallLog, first_429_only, marketing_adapter, marketing_config, served
from tests.support.silos import FakeClock, SiloEnv, credentials_for, silo_data


def adapter_for(env: SiloEnv, **overrides: Any) -> MarketingAdapter:
    return marketing_adapter(env.base_url, env.credentials, env.data.list_id, **overrides)


def events_of(data: MarketingData) -> dict[str, list[dict[str, object]]]:
    """Every campaign event upstream, per lower-cased address."""
    found: dict[str, list[dict[str, object]]] = {}
    for campaign in data.campaigns:
        report = data.report(campaign.id)
        for position, member_index in enumerate(report.recipients):
            member = data.members[member_index]
            for event in report.activity(position, data.seed):
                found.setdefault(member.email.lower(), []).append({**event, "campaign": campaign})
    return found


@pytest.fixture(scope="module")
async def audience() -> AsyncIterator[SiloEnv]:
    async with served("marketing") as env:
        yield env


@pytest.fixture(scope="module")
async def mailing(audience: SiloEnv) -> AsyncIterator[MarketingAdapter]:
    async with closing(adapter_for(audience)) as adapter:
        await adapter.refresh()  # batches are measured on a filled copy
        yield adapter


mailing_down, mailing_silent = failing_adapter_fixtures(
    "mailing", marketing_adapter, credentials_for("marketing"), "a1b2c3"
)


@pytest.fixture
def audience_expectations(audience: SiloEnv) -> ConformanceExpectations:
    data = audience.data
    return ConformanceExpectations(
        total_records={
            Entity.MARKETING_MEMBER: len(data.members),
            Entity.CAMPAIGN_ACTIVITY: sum(map(len, events_of(data).values())),
        },
        known_keys={Entity.MARKETING_MEMBER: [data.members[-1].id]},
    )


class TestMarketingConformance(
    AdapterConformance,
    fixture="mailing",
    unreachable_fixture="mailing_down",
    slow_fixture="mailing_silent",
    expectations_fixture="audience_expectations",
):
    pass


def test_registered_under_its_entry_point() -> None:
    assert AdapterRegistry.discover().get("marketing") is MarketingAdapter


# -- mapping ------------------------------------------------------------------------------------------------


async def test_members_and_activity_map_every_known_field(
    mailing: MarketingAdapter, audience: SiloEnv
) -> None:
    data = audience.data
    without_company = next(m for m in data.members if not m.company)
    with_phone = next(m for m in data.members if m.phone and m.company)
    found = await mailing.get_many(Entity.MARKETING_MEMBER, [without_company.id, with_phone.id])
    for record, member in zip(found, (without_company, with_phone), strict=True):
        assert isinstance(record, MarketingMember)
        assert (record.email, record.status) == (member.email, member.status)
        assert (record.first_name, record.last_name) == (member.first_name, member.last_name)
        assert (record.company, record.phone) == (member.company or None, member.phone or None)
        assert (record.list_id, record.list_name) == (data.list_id, data.list_name)
        assert record.updated_at == member.last_changed

    events = events_of(data)
    email = max(events, key=lambda e: len(events[e]))
    (found_activity,) = await mailing.find_related(Entity.CAMPAIGN_ACTIVITY, "email", [email.upper()])
    activity = [a for a in found_activity if isinstance(a, CampaignActivity)]
    assert len(activity) == len(found_activity) == len(events[email]) > 1
    assert {(a.campaign_id, a.action, a.occurred_at) for a in activity} == {
        (getattr(e["campaign"], "id", None), e["action"], e["timestamp"]) for e in events[email]
    }
    campaigns = {c.id: c.title for c in data.campaigns}
    assert all(
        isinstance(a, CampaignActivity) and a.campaign_name == campaigns[a.campaign_id] for a in activity
    )
    (by_email,) = await mailing.find_related(Entity.MARKETING_MEMBER, "email", [email])
    assert [m.external_id for m in by_email] == [subscriber_hash(email)]


# -- the local copy -----------------------------------------------------------------------------------------


async def test_a_batch_costs_one_delta_call_whatever_its_size(
    mailing: MarketingAdapter, audience: SiloEnv
) -> None:
    data = audience.data
    log = CallLog()
    log.watch("marketing", mailing)
    found = await mailing.get_many(Entity.MARKETING_MEMBER, [m.id for m in data.members] * 3)
    assert all(found) and log.per_level() == {("marketing", "members"): 1}
    log.clear()
    emails = [m.email.lower() for m in data.members]
    activity = await mailing.find_related(Entity.CAMPAIGN_ACTIVITY, "email", emails)
    assert sum(map(len, activity)) == sum(map(len, events_of(data).values()))
    assert log.per_level() == {("marketing", "campaigns"): 1}, "old campaigns' activity is settled"
    log.clear()
    await asyncio.gather(*(mailing.get_many(Entity.MARKETING_MEMBER, [m.id]) for m in data.members[:20]))
    assert log.per_level() == {("marketing", "members"): 1}, "concurrent batches share one refresh"


async def test_a_refresh_interval_spares_the_delta_calls(audience: SiloEnv) -> None:
    async with closing(adapter_for(audience, refresh_interval_seconds=60)) as adapter:
        await adapter.refresh()
        before = adapter.upstream_calls
        await adapter.get_many(Entity.MARKETING_MEMBER, [audience.data.members[0].id])
        await adapter.find_related(Entity.CAMPAIGN_ACTIVITY, "email", [audience.data.members[0].email])
        assert adapter.upstream_calls == before


async def test_recent_campaigns_have_their_new_activity_read_on_each_refresh(audience: SiloEnv) -> None:
    adapter = adapter_for(audience, activity_window_days=100_000)  # every campaign counts as recent
    log = CallLog()
    log.watch("marketing", adapter)
    try:
        await adapter.refresh()
        log.clear()
        await adapter.find_related(Entity.CAMPAIGN_ACTIVITY, "email", [audience.data.members[0].email])
    finally:
        await adapter.aclose()
    campaigns = len(audience.data.campaigns)
    assert log.per_level() == {("marketing", "campaigns"): 1, ("marketing", "email-activity"): campaigns}


class Switchable:
    """Serves whichever app is current: the test swaps in a silo over changed data."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _copy(data: MarketingData, members: list[Any], campaigns: list[Campaign]) -> MarketingData:
    return MarketingData(data.list_id, data.list_name, members, campaigns, data.seed)


async def test_changes_upstream_reach_the_copy() -> None:
    original = silo_data().marketing
    switch: dict[str, Switchable] = {}

    def wrap(app: ASGIApp, _: Faults) -> ASGIApp:
        switch["app"] = Switchable(app)
        return switch["app"]

    clock = FakeClock()
    async with served("marketing", wrap=wrap) as env:
        config = MarketingConfig.model_validate(
            marketing_config(env.base_url, env.credentials, original.list_id)
        )
        adapter = MarketingAdapter(source="marketing", config=config, clock=clock)
        log = CallLog()
        log.watch("marketing", adapter)
        try:
            await adapter.refresh()
            changed, gone = original.members[0], original.members[1]
            now = dt.datetime.now(dt.UTC).replace(microsecond=0)
            newcomer = dataclasses.replace(
                changed,
                id=subscriber_hash("new.member@example.org"),
                email="new.member@example.org",
                index=1,
                last_changed=now,
            )
            members = [dataclasses.replace(changed, status="unsubscribed", last_changed=now), newcomer]
            members += [dataclasses.replace(m, index=k + 2) for k, m in enumerate(original.members[2:])]
            extra = Campaign(99, "c0ffee0099", 100_099, "Newsletter January 2025", "January", now)
            updated = _copy(original, members, [*original.campaigns, extra])
            switch["app"].app = marketing.create_app(updated, credentials=env.credentials, faults=env.faults)
            log.clear()

            found = await adapter.get_many(Entity.MARKETING_MEMBER, [changed.id, newcomer.id, gone.id])
            assert [m.status if isinstance(m, MarketingMember) else None for m in found] == [
                "unsubscribed",
                newcomer.status,
                gone.status,  # deletions only show after a full read
            ]
            await adapter.find_related(Entity.CAMPAIGN_ACTIVITY, "email", [changed.email])
            assert extra.id in adapter.activity.campaigns, "the new campaign's activity was read"
            assert log.per_level() == {
                ("marketing", "members"): 1,
                ("marketing", "campaigns"): 1,
                ("marketing", "email-activity"): 1,
            }

            clock.now += config.resync_interval_seconds  # time for a full read: deletions show
            (still_there,) = await adapter.get_many(Entity.MARKETING_MEMBER, [gone.id])
            assert still_there is None
        finally:
            await adapter.aclose()


# -- failures -----------------------------------------------------------------------------------------------


async def test_a_429_is_retried_after_retry_after() -> None:
    async with served("marketing", wrap=first_429_only) as env:
        env.faults.update(forced_429=True, retry_after=1)
        async with closing(adapter_for(env)) as adapter:
            members = [m async for m in adapter.scan(Entity.MARKETING_MEMBER)]
    assert len(members) == len(env.data.members)
    assert adapter.upstream_calls == 3, "the 429, its retry, and the audience's name"
    assert not env.faults.forced_429


async def test_a_malformed_page_is_a_typed_error_and_the_next_batch_recovers(audience: SiloEnv) -> None:
    async with closing(adapter_for(audience)) as adapter:
        audience.faults.update(malformed=True)
        try:
            with pytest.raises(MalformedResponseError) as caught:
                await adapter.get_many(Entity.MARKETING_MEMBER, [audience.data.members[0].id])
            with pytest.raises(MalformedResponseError):
                _ = [event async for event in adapter.scan(Entity.CAMPAIGN_ACTIVITY)]
        finally:
            audience.faults.reset()
        (member,) = await adapter.get_many(Entity.MARKETING_MEMBER, [audience.data.members[0].id])
        assert member is not None
    assert caught.value.source == "marketing"


async def test_bad_credentials_are_an_auth_error(audience: SiloEnv) -> None:
    wrong = "0" * 32 + "-us21"
    async with closing(
        marketing_adapter(audience.base_url, audience.credentials, audience.data.list_id, api_key=wrong)
    ) as adapter:
        with pytest.raises(UpstreamAuthError) as caught:
            await adapter.find_related(Entity.CAMPAIGN_ACTIVITY, "email", ["someone@example.org"])
        health = await adapter.check()
    assert caught.value.source == "marketing" and wrong not in str(caught.value)
    assert not health.ok and (health.detail or "").startswith("SOURCE_AUTH_FAILED")
