"""The support silo over real HTTP: token auth, both pagination styles, show_many, search, incremental export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from silos.limits import RateLimit
from tests.support.silos import FakeClock, SiloEnv, running_silo


@pytest.fixture(scope="module")
async def desk() -> AsyncIterator[SiloEnv]:
    async with running_silo("support") as env:
        env.client.auth = (env.credentials.username, env.credentials.api_token)
        yield env


async def get(env: SiloEnv, path: str, **params: Any) -> httpx.Response:
    return await env.client.get(path, params=params)


async def ok(env: SiloEnv, path: str, **params: Any) -> dict[str, Any]:
    response = await get(env, path, **params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert set(body) == {"error", "description"} and body["description"]
    return body


async def test_api_token_basic_auth_is_required(desk: SiloEnv) -> None:
    creds = desk.credentials
    async with httpx.AsyncClient(base_url=desk.base_url) as anonymous:
        assert_error(await anonymous.get("/api/v2/tickets"), 401)
        wrong_token = await anonymous.get("/api/v2/tickets", auth=(creds.username, "nope"))
        assert_error(wrong_token, 401)
        # The password of the user is not the API token: "{email}" without "/token" is refused.
        assert_error(await anonymous.get("/api/v2/tickets", auth=(creds.email, creds.api_token)), 401)
        good = await anonymous.get("/api/v2/tickets.json", auth=(creds.username, creds.api_token))
        assert good.status_code == 200


@pytest.mark.parametrize("collection", ["tickets", "users", "organizations"])
async def test_cursor_pagination_walks_every_record_once(desk: SiloEnv, collection: str) -> None:
    expected = [r.id for r in desk.data.collection(collection)]
    seen: list[int] = []
    body = await ok(desk, f"/api/v2/{collection}", **{"page[size]": 9})
    pages = 1
    while True:
        seen += [r["id"] for r in body[collection]]
        assert len(body[collection]) <= 9
        if not body["meta"]["has_more"]:
            assert body["links"]["next"] is None
            break
        assert body["links"]["next"].endswith(f"page%5Bafter%5D={body['meta']['after_cursor']}") or (
            "page%5Bafter%5D" in body["links"]["next"]
        )
        response = await desk.client.get(body["links"]["next"])
        body = response.json()
        pages += 1
    assert seen == expected and len(set(seen)) == len(expected) and pages > 2
    # page[before] goes back from the last page's first record.
    last_first = body[collection][0]["id"] if body[collection] else expected[-1]
    back = await ok(
        desk, f"/api/v2/{collection}", **{"page[size]": 3, "page[before]": body["meta"]["before_cursor"]}
    )
    assert [r["id"] for r in back[collection]] == [i for i in expected if i < last_first][-3:]


async def test_offset_pagination_walks_every_record_once_and_stops_at_its_limit(desk: SiloEnv) -> None:
    seen: list[int] = []
    url: str | None = f"{desk.base_url}/api/v2/tickets?per_page=11"
    while url:
        body = (await desk.client.get(url)).json()
        assert body["count"] == len(desk.data.tickets)
        seen += [t["id"] for t in body["tickets"]]
        url = body["next_page"]
    assert seen == [t.id for t in desk.data.tickets]
    assert (
        "offset pagination"
        in assert_error(await get(desk, "/api/v2/tickets", page=101, per_page=100), 400)["description"]
    )
    assert_error(await get(desk, "/api/v2/tickets", per_page=500), 400)
    assert_error(await get(desk, "/api/v2/tickets", **{"page[size]": 0}), 400)
    assert_error(await get(desk, "/api/v2/tickets", **{"page[size]": 5, "page[after]": "%%%"}), 400)


async def test_show_many_returns_what_was_asked(desk: SiloEnv) -> None:
    data = desk.data
    wanted = [data.tickets[3].id, data.tickets[0].id, 987654]
    body = await ok(desk, "/api/v2/tickets/show_many", ids=",".join(map(str, wanted)))
    assert sorted(t["id"] for t in body["tickets"]) == sorted(wanted[:2])
    users = [u.id for u in data.users[:5]]
    body = await ok(desk, "/api/v2/users/show_many.json", ids=",".join(map(str, users)))
    assert sorted(u["id"] for u in body["users"]) == users
    orgs = data.organizations[:3]
    by_external = await ok(
        desk, "/api/v2/organizations/show_many", external_ids=",".join(o.external_id for o in orgs)
    )
    assert sorted(o["id"] for o in by_external["organizations"]) == [o.id for o in orgs]
    assert_error(
        await get(desk, "/api/v2/tickets/show_many", ids=",".join(str(i) for i in range(1, 102))), 400
    )
    assert_error(await get(desk, "/api/v2/tickets/show_many", ids="1,abc"), 400)
    assert_error(await get(desk, "/api/v2/tickets/show_many"), 400)


async def test_single_records_and_related_lists(desk: SiloEnv) -> None:
    org = next(o for o in desk.data.organizations if desk.data.tickets_by_organization.get(o.id))
    body = await ok(desk, f"/api/v2/organizations/{org.id}")
    assert body["organization"]["external_id"] == org.external_id
    assert_error(await get(desk, "/api/v2/organizations/1"), 404)
    tickets = await ok(desk, f"/api/v2/organizations/{org.id}/tickets")
    assert [t["id"] for t in tickets["tickets"]] == [t.id for t in desk.data.tickets_by_organization[org.id]]
    users = await ok(desk, f"/api/v2/organizations/{org.id}/users")
    assert {u["organization_id"] for u in users["users"]} == {org.id}
    assert all(u["role"] == "end-user" for u in users["users"])
    end_users = await ok(desk, "/api/v2/users", role="end-user", per_page=100)
    assert end_users["count"] == sum(1 for u in desk.data.users if u.role == "end-user")
    assert_error(await get(desk, "/api/v2/users", role="boss"), 400)
    assert_error(await get(desk, "/api/v2/nothing-here"), 404)


async def test_search_by_organizations_status_and_dates(desk: SiloEnv) -> None:
    data = desk.data
    orgs = [o.id for o in data.organizations if data.tickets_by_organization.get(o.id)][:2]
    body = await ok(desk, "/api/v2/search", query=f"type:ticket organization_id:{orgs[0]}")
    assert {r["id"] for r in body["results"]} == {t.id for t in data.tickets_by_organization[orgs[0]]}
    assert {r["result_type"] for r in body["results"]} == {"ticket"}
    both = await ok(
        desk, "/api/v2/search", query=f"type:ticket organization_id:{orgs[0]} organization_id:{orgs[1]}"
    )
    expected = {t.id for o in orgs for t in data.tickets_by_organization[o]}
    assert {r["id"] for r in both["results"]} == expected and both["count"] == len(expected)
    unsolved = await ok(desk, "/api/v2/search", query="type:ticket status<solved", per_page=100)
    assert unsolved["count"] == sum(1 for t in data.tickets if t.status in ("new", "open", "pending", "hold"))
    recent = await ok(desk, "/api/v2/search", query="type:ticket created>2024-10-01", per_page=100)
    assert recent["count"] == sum(1 for t in data.tickets if t.created.date().isoformat() > "2024-10-01")
    user = next(u for u in data.users if u.email and u.role == "end-user")
    found = await ok(desk, "/api/v2/search", query=f"type:user email:{user.email.upper()}")
    assert [r["id"] for r in found["results"]] == [user.id]
    org = data.organizations[0]
    by_external = await ok(desk, "/api/v2/search", query=f"type:organization external_id:{org.external_id}")
    assert [r["id"] for r in by_external["results"]] == [org.id]
    assert_error(await get(desk, "/api/v2/search", query="type:invoice"), 400)
    assert_error(await get(desk, "/api/v2/search", query="type:ticket shoe_size:9"), 400)
    assert_error(await get(desk, "/api/v2/search", query="type:ticket created>tomorrow"), 400)
    assert_error(await get(desk, "/api/v2/search"), 400)
    assert_error(await get(desk, "/api/v2/search", query="type:ticket", page=11, per_page=100), 400)


async def test_search_export_pages_by_cursor(desk: SiloEnv) -> None:
    seen: list[int] = []
    body = await ok(
        desk, "/api/v2/search/export", query="status<closed", **{"filter[type]": "ticket", "page[size]": 10}
    )
    while True:
        seen += [r["id"] for r in body["results"]]
        if not body["meta"]["has_more"]:
            break
        body = (await desk.client.get(body["links"]["next"])).json()
    assert seen == [t.id for t in desk.data.tickets if t.status != "closed"]
    assert_error(await get(desk, "/api/v2/search/export", query="status:open"), 400)


async def test_incremental_ticket_export_walks_changes_once_in_update_order(desk: SiloEnv) -> None:
    data = desk.data
    seen: list[dict[str, Any]] = []
    body = await ok(desk, "/api/v2/incremental/tickets/cursor", start_time=0, per_page=13)
    while True:
        seen += body["tickets"]
        if body["end_of_stream"]:
            break
        body = (await desk.client.get(body["after_url"])).json()
    assert sorted(t["id"] for t in seen) == sorted(t.id for t in data.tickets)
    stamps = [(t["generated_timestamp"], t["id"]) for t in seen]
    assert stamps == sorted(stamps)
    # Nothing new after the end: the stored cursor yields an empty page and end_of_stream.
    again = await ok(desk, "/api/v2/incremental/tickets/cursor", cursor=body["after_cursor"])
    assert again["tickets"] == [] and again["end_of_stream"]
    middle = sorted(t.updated for t in data.tickets)[len(data.tickets) // 2]
    since = int(middle.timestamp())
    partial = await ok(desk, "/api/v2/incremental/tickets/cursor", start_time=since)
    assert {t["id"] for t in partial["tickets"]} == {
        t.id for t in data.tickets if t.updated.timestamp() >= since
    }
    users = await ok(desk, "/api/v2/incremental/users/cursor", start_time=0)
    assert len(users["users"]) == len(data.users) and users["end_of_stream"]
    assert_error(await get(desk, "/api/v2/incremental/tickets/cursor"), 400)
    assert_error(await get(desk, "/api/v2/incremental/tickets/cursor", start_time=4_000_000_000), 400)
    assert_error(await get(desk, "/api/v2/incremental/tickets/cursor", cursor="bm90LWEtY3Vyc29y"), 400)


async def test_incremental_organizations_is_time_based(desk: SiloEnv) -> None:
    seen: list[int] = []
    body = await ok(desk, "/api/v2/incremental/organizations", start_time=0, per_page=15)
    while True:
        seen += [o["id"] for o in body["organizations"]]
        if body["end_of_stream"]:
            break
        body = (await desk.client.get(body["next_page"])).json()
    # Time-based exports may repeat records that share the boundary second, never miss one.
    assert set(seen) == {o.id for o in desk.data.organizations}


async def test_over_the_per_minute_limit_answers_429_with_retry_after() -> None:
    clock = FakeClock()
    async with running_silo("support", limits=RateLimit(per_minute=2), clock=clock) as env:
        auth = (env.credentials.username, env.credentials.api_token)
        assert [(await env.client.get("/api/v2/tickets", auth=auth)).status_code for _ in range(2)] == [
            200,
            200,
        ]
        throttled = await env.client.get("/api/v2/tickets", auth=auth)
        assert throttled.headers["Retry-After"] == "60"
        assert assert_error(throttled, 429)["error"] == "APIRateLimitExceeded"
        clock.now += 60
        assert (await env.client.get("/api/v2/tickets", auth=auth)).status_code == 200
