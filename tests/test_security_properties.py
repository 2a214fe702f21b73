"""Random variables, filters and cursors thrown at the API, as every kind of principal: every answer is a
well-formed GraphQL response (never a 500, never a crash inside a resolver), and nothing out of the
principal's scope comes back."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .support.hub import GRAPHQL_RESPONSE, api_client
from .support.security import PRINCIPALS, REFUSED, World, leaks, security_world

# Text without lone surrogates: JSON cannot carry them to the API in the first place.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def cursors(draw: st.DrawFn) -> Any:
    """Garbage, base64 of arbitrary JSON (a cursor of some other list, or of nothing), or any JSON value."""
    kind = draw(st.sampled_from(["text", "encoded", "json"]))
    if kind == "text":
        return draw(TEXT)
    if kind == "encoded":
        payload = draw(st.lists(st.one_of(TEXT, st.integers(), st.none()), max_size=4))
        prefix = draw(
            st.sampled_from(
                ["customers", "leads", "opportunities", "activities", "audit", "timeline:x", "orders:x"]
            )
        )
        raw = json.dumps([prefix, *payload]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return draw(ANY_JSON)


def sometimes(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly well-typed values, sometimes anything at all."""
    return st.one_of(valid, valid, valid, ANY_JSON)


FIRST = sometimes(st.one_of(st.none(), st.integers(-5, 150)))
OPERATIONS: dict[str, tuple[str, dict[str, st.SearchStrategy[Any]]]] = {
    "customers": (
        "query($first: Int, $after: String, $search: String) { customers(first: $first, after: $after, search: $search) "
        "{ totalCount edges { cursor node { id name } } } }",
        {"first": FIRST, "after": cursors(), "search": sometimes(TEXT)},
    ),
    "leads": (
        "query($first: Int, $after: String, $status: LeadStatus, $owner: ID, $territory: ID, $sub: Boolean, $search: String) "
        "{ leads(first: $first, after: $after, status: $status, owner: $owner, territory: $territory, "
        "includeSubterritories: $sub, search: $search) { totalCount edges { node { id name territory { id } } } } }",
        {
            "first": FIRST,
            "after": cursors(),
            "status": sometimes(st.sampled_from(["NEW", "CONTACTED", "QUALIFIED", "CONVERTED"])),
            "owner": sometimes(TEXT),
            "territory": sometimes(TEXT),
            "sub": sometimes(st.booleans()),
            "search": sometimes(TEXT),
        },
    ),
    "opportunities": (
        "query($first: Int, $after: String, $customer: ID, $stage: String, $territory: ID, $open: Boolean) "
        "{ opportunities(first: $first, after: $after, customer: $customer, stage: $stage, territory: $territory, "
        "openOnly: $open) { totalCount edges { node { id customer { id } } } } }",
        {
            "first": FIRST,
            "after": cursors(),
            "customer": sometimes(TEXT),
            "stage": sometimes(st.sampled_from(["Prospecting", "Closed Won", "nope"]) | TEXT),
            "territory": sometimes(TEXT),
            "open": sometimes(st.booleans()),
        },
    ),
    "activities": (
        "query($first: Int, $after: String, $customer: ID, $lead: ID, $type: ActivityType, $done: Boolean) "
        "{ activities(first: $first, after: $after, customer: $customer, lead: $lead, type: $type, done: $done) "
        "{ totalCount edges { node { id } } } }",
        {
            "first": FIRST,
            "after": cursors(),
            "customer": sometimes(TEXT),
            "lead": sometimes(TEXT),
            "type": sometimes(st.sampled_from(["CALL", "TASK", "MEETING"])),
            "done": sometimes(st.booleans()),
        },
    ),
    "timeline": (
        "query($id: ID!, $first: Int, $after: String, $kinds: [String!]) { customer(id: $id) { id "
        "timeline(first: $first, after: $after, kinds: $kinds) { totalCount edges { node { kind referenceId } } } "
        "orders(first: 2, after: $after) { totalCount } } }",
        {
            "id": sometimes(TEXT),
            "first": FIRST,
            "after": cursors(),
            "kinds": sometimes(
                st.lists(
                    st.sampled_from(["order", "invoice", "activity", "opportunity", "nope"]) | TEXT,
                    max_size=4,
                )
            ),
        },
    ),
    "notes": (
        "query($customer: ID, $opportunity: ID, $competitor: String) { competitorNotes(customer: $customer, "
        "opportunity: $opportunity, competitor: $competitor) { id } competitorSummary(competitor: $competitor) { notes } }",
        {"customer": sometimes(TEXT), "opportunity": sometimes(TEXT), "competitor": sometimes(TEXT)},
    ),
    "audit": (
        "query($first: Int, $after: String, $entity: String, $entityId: String) { auditLog(first: $first, after: $after, "
        "entity: $entity, entityId: $entityId) { totalCount edges { node { operation } } } }",
        {"first": FIRST, "after": cursors(), "entity": sometimes(TEXT), "entityId": sometimes(TEXT)},
    ),
}


@st.composite
def requests(draw: st.DrawFn, world: World) -> tuple[str, str, dict[str, Any]]:
    who = draw(st.sampled_from([*PRINCIPALS, *REFUSED]))
    name = draw(st.sampled_from(list(OPERATIONS)))
    query, strategies = OPERATIONS[name]
    variables = {key: draw(strategy) for key, strategy in strategies.items() if draw(st.booleans())}
    if name == "timeline" and draw(st.booleans()):
        variables["id"] = draw(st.sampled_from(list(world.customers.values())))
    return who, query, variables


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory, erp_sqlite: Path) -> AsyncIterator[World]:
    async with security_world(tmp_path_factory.mktemp("security-properties"), erp_sqlite) as built:
        yield built


@pytest.fixture(scope="module")
async def clients(world: World) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    async with AsyncExitStack() as stack:
        yield {
            name: await stack.enter_async_context(api_client(world.hub, key=token))
            for name, token in world.tokens.items()
        }


def check_well_formed(who: str, status: int, body: Any) -> None:
    assert status in (200, 400, 401), (status, body)
    assert isinstance(body, dict) and body and set(body) <= {"data", "errors", "extensions"}, body
    for error in body.get("errors", []):
        assert isinstance(error["message"], str) and error["message"]
    if status == 401:
        assert who in REFUSED and "data" not in body
        return
    assert who not in REFUSED
    if status == 400:  # a request error: nothing executed
        assert "data" not in body and body["errors"]
        return
    assert "data" in body
    for error in body.get("errors", []):
        # an executed request's errors are all typed: nothing crashed inside a resolver
        assert "code" in (error.get("extensions") or {}), error


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_random_requests_get_well_formed_answers(
    world: World, clients: dict[str, httpx.AsyncClient], data: st.DataObject
) -> None:
    who, query, variables = data.draw(requests(world))
    response = await clients[who].post(
        "/graphql", json={"query": query, "variables": variables}, headers={"accept": GRAPHQL_RESPONSE}
    )
    body = response.json()
    check_well_formed(who, response.status_code, body)
    if who in PRINCIPALS:
        spec = PRINCIPALS[who]
        assert not leaks(world, spec.scope, finance=spec.finance, text=response.text), (who, variables, body)


RAW_BODIES = st.one_of(
    ANY_JSON.map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries({"query": sometimes(TEXT), "variables": ANY_JSON}).map(
        lambda v: json.dumps(v).encode()
    ),
    st.sampled_from(
        [b"NaN", b"Infinity", b"[]", b"{}", b"1e999", b"\x80", b"[" * 100_000, b'{"query":' * 50_000]
    ),
    st.binary(max_size=80),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=RAW_BODIES)
async def test_random_request_bodies_never_crash_the_endpoint(
    clients: dict[str, httpx.AsyncClient], body: bytes
) -> None:
    response = await clients["rep_a"].post(
        "/graphql", content=body, headers={"accept": GRAPHQL_RESPONSE, "content-type": "application/json"}
    )
    assert response.status_code in (200, 400), response.text
    if response.headers["content-type"].startswith("text/plain"):  # not even a GraphQL request: says why
        assert response.status_code == 400 and response.text
        return
    check_well_formed("rep_a", response.status_code, response.json())
