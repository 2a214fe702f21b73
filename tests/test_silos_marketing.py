"""The marketing silo over real HTTP: API-key auth, members, search, campaigns, activity, paging, errors."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from silos.faults import Faults
from silos.limits import RateLimit
from silos.marketing import MarketingCredentials
from tests.support.silos import SiloEnv, running_silo


@pytest.fixture(scope="module")
async def mkt() -> AsyncIterator[SiloEnv]:
    async with running_silo("marketing") as env:
        env.client.auth = ("anystring", env.credentials.api_key)
        yield env


async def ok(env: SiloEnv, path: str, **params: Any) -> dict[str, Any]:
    response = await env.client.get(path, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert set(body) == {"type", "title", "status", "detail", "instance"} and body["status"] == status
    return body


def members_path(env: SiloEnv) -> str:
    return f"/3.0/lists/{env.data.list_id}/members"


async def test_api_key_is_required(mkt: SiloEnv) -> None:
    async with httpx.AsyncClient(base_url=mkt.base_url) as anonymous:
        assert assert_problem(await anonymous.get("/3.0/lists"), 401)["title"] == "API Key Missing"
        wrong = await anonymous.get("/3.0/lists", auth=("me", "0" * 32 + "-us21"))
        assert assert_problem(wrong, 401)["title"] == "API Key Invalid"
        assert (
            await anonymous.get("/3.0/ping", auth=("whoever", mkt.credentials.api_key))
        ).status_code == 200
    with pytest.raises(ValueError, match="datacenter"):
        MarketingCredentials(api_key="no-suffix")
    assert mkt.credentials.datacenter == "us21"


async def test_count_offset_paging_walks_every_member_once(mkt: SiloEnv) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        body = await ok(mkt, members_path(mkt), count=17, offset=offset)
        assert body["total_items"] == len(mkt.data.members)
        if not body["members"]:
            break
        seen += [m["id"] for m in body["members"]]
        offset += len(body["members"])
    assert seen == [m.id for m in mkt.data.members] and len(set(seen)) == len(seen)
    for bad in (
        {"count": 0},
        {"count": 1001},
        {"offset": -1},
        {"status": "asleep"},
        {"since_last_changed": "soon"},
    ):
        assert_problem(await mkt.client.get(members_path(mkt), params=bad), 400)
    assert_problem(await mkt.client.get("/3.0/lists/nope/members"), 404)


async def test_member_ids_are_md5_of_the_lower_cased_address(mkt: SiloEnv) -> None:
    body = await ok(mkt, members_path(mkt), count=1000)
    for member in body["members"]:
        assert member["id"] == hashlib.md5(member["email_address"].lower().encode()).hexdigest()
        assert set(member["merge_fields"]) == {"FNAME", "LNAME", "COMPANY", "PHONE", "ERPCODE"}
        assert member["status"] in ("subscribed", "unsubscribed", "cleaned", "pending")
    statuses = {m["status"] for m in body["members"]}
    assert statuses == {"subscribed", "unsubscribed", "cleaned", "pending"}
    sample = body["members"][5]
    by_hash = await ok(mkt, f"{members_path(mkt)}/{sample['id']}")
    by_email = await ok(mkt, f"{members_path(mkt)}/{sample['email_address'].upper()}")
    assert by_hash == by_email == sample
    assert_problem(await mkt.client.get(f"{members_path(mkt)}/{'0' * 32}"), 404)


async def test_status_and_last_changed_filters(mkt: SiloEnv) -> None:
    members = mkt.data.members
    cleaned = await ok(mkt, members_path(mkt), status="cleaned", count=1000)
    assert cleaned["total_items"] == sum(1 for m in members if m.status == "cleaned") > 0
    middle = sorted(m.last_changed for m in members)[len(members) // 2]
    since = await ok(mkt, members_path(mkt), since_last_changed=middle.isoformat(), count=1000)
    assert {m["id"] for m in since["members"]} == {m.id for m in members if m.last_changed > middle}


async def test_search_members_by_email_and_name(mkt: SiloEnv) -> None:
    member = mkt.data.members[3]
    body = await ok(mkt, "/3.0/search-members", query=member.email.upper())
    assert [m["id"] for m in body["exact_matches"]["members"]] == [member.id]
    by_name = await ok(mkt, "/3.0/search-members", query=member.last_name, list_id=mkt.data.list_id)
    assert member.id in {m["id"] for m in by_name["full_search"]["members"]}
    assert len(by_name["full_search"]["members"]) <= 10
    assert all(member.last_name.lower() in m["full_name"].lower() for m in by_name["full_search"]["members"])
    nothing = await ok(mkt, "/3.0/search-members", query="nobody-here@nowhere.example")
    assert nothing["exact_matches"] == {"members": [], "total_items": 0}
    assert_problem(await mkt.client.get("/3.0/search-members"), 400)


async def test_fields_and_exclude_fields(mkt: SiloEnv) -> None:
    body = await ok(
        mkt, members_path(mkt), count=2, fields="members.email_address,members.merge_fields.FNAME,total_items"
    )
    assert set(body) == {"members", "total_items"}
    assert all(
        set(m) == {"email_address", "merge_fields"} and set(m["merge_fields"]) == {"FNAME"}
        for m in body["members"]
    )
    trimmed = await ok(
        mkt, members_path(mkt), count=2, exclude_fields="members.location,members.stats,list_id"
    )
    assert "list_id" not in trimmed and all(
        "location" not in m and "email_address" in m for m in trimmed["members"]
    )


async def test_campaigns_and_email_activity(mkt: SiloEnv) -> None:
    campaigns = await ok(mkt, "/3.0/campaigns", count=100)
    assert campaigns["total_items"] == len(campaigns["campaigns"]) == 12
    campaign = campaigns["campaigns"][-1]
    assert campaign["status"] == "sent" and campaign["recipients"]["list_id"] == mkt.data.list_id
    single = await ok(mkt, f"/3.0/campaigns/{campaign['id']}")
    assert single == campaign
    path = f"/3.0/reports/{campaign['id']}/email-activity"
    emails: list[dict[str, Any]] = []
    offset = 0
    while True:
        body = await ok(mkt, path, count=25, offset=offset)
        if not body["emails"]:
            break
        emails += body["emails"]
        offset += 25
    assert len(emails) == body["total_items"] == campaign["emails_sent"] > 0
    assert len({e["email_id"] for e in emails}) == len(emails)
    actions = [a for e in emails for a in e["activity"]]
    assert {a["action"] for a in actions} <= {"open", "click", "bounce"}
    opened = sum(1 for e in emails if any(a["action"] == "open" for a in e["activity"]))
    assert opened == campaign["report_summary"]["unique_opens"] > 0
    assert all(a["timestamp"] > campaign["send_time"] for a in actions)
    later = sorted(a["timestamp"] for a in actions)[len(actions) // 2]
    since = await ok(mkt, path, since=later, count=1000)
    assert since["emails"] and all(a["timestamp"] > later for e in since["emails"] for a in e["activity"])
    one = emails[0]
    member_view = await ok(mkt, f"{path}/{one['email_id']}")
    assert member_view == one
    assert_problem(await mkt.client.get("/3.0/reports/nope/email-activity"), 404)
    assert_problem(await mkt.client.get("/3.0/campaigns", params={"status": "later"}), 400)


async def test_leads_are_about_a_fifth_of_the_audience(mkt: SiloEnv) -> None:
    body = await ok(mkt, members_path(mkt), count=1000)
    leads = [m for m in body["members"] if not m["merge_fields"]["ERPCODE"]]
    assert 0.12 <= len(leads) / len(body["members"]) <= 0.28
    assert all({"id": 1001, "name": "lead"} in m["tags"] for m in leads)


async def test_more_than_the_allowed_simultaneous_connections_get_429() -> None:
    faults = Faults(latency_ms=300)
    async with running_silo("marketing", limits=RateLimit(max_concurrent=2), faults=faults) as env:
        auth = ("x", env.credentials.api_key)
        responses = await asyncio.gather(*(env.client.get("/3.0/ping", auth=auth) for _ in range(5)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 200, 429, 429, 429]
        throttled = next(r for r in responses if r.status_code == 429)
        assert throttled.headers["Retry-After"] == "1"
        assert assert_problem(throttled, 429)["title"] == "Too Many Requests"
