"""Hostile queries: depth, alias, token and cost bombs and oversized pages are rejected before anything
executes, with a clear error; introspection can be switched off; requests are rate-limited per principal,
in memory and through Redis."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse

from hub.hub import Hub
from hub.security.config import RateLimitConfig
from hub.security.ratelimit import RateLimiter
from schema import build_schema
from schema.limits import CostOutcomes
from schema.validation_cache import ValidationResults

from .support.http_server import closed_port
from .support.hub import GRAPHQL_RESPONSE, api_client, gql
from .support.security import issue, plain_hub
from .support.servers import redis_url

DEEP = "{ territories { " + "parent { " * 16 + "id" + " }" * 16 + " } }"
ALIASES = "{ " + " ".join(f"a{i}: customers(first: 1) {{ totalCount }}" for i in range(31)) + " }"
TOKENS = "{ " + " ".join("__typename" for _ in range(5001)) + " }"
PAGE = "customers(first: $n) { edges { node { orders(first: 100) { edges { node { lines { product { name } } } } } } } }"
COSTLY = f"query($n: Int!) {{ one: {PAGE} two: {PAGE} }}"


async def _rejected(
    client: httpx.AsyncClient, query: str, variables: dict[str, object] | None = None
) -> dict[str, object]:
    """A request error: 400, no `data` at all (nothing executed); its first error."""
    status, body = await gql(client, query, variables)
    assert status == 400 and "data" not in body and body["errors"], body
    return body["errors"][0]


@pytest.mark.parametrize(
    ("query", "code", "says"),
    [
        (DEEP, "QUERY_TOO_DEEP", "is 18 levels deep; at most 15"),
        (ALIASES, "TOO_MANY_ALIASES", "more than 30 aliases"),
        (TOKENS, "GRAPHQL_PARSE_FAILED", "more than 5000 tokens"),
    ],
    ids=["depth", "aliases", "tokens"],
)
async def test_bombs_are_rejected_before_execution(
    erp_hub: Hub, client: httpx.AsyncClient, query: str, code: str, says: str
) -> None:
    adapter = erp_hub.sources.adapter("erp")
    calls = adapter.upstream_calls
    error = await _rejected(client, query)
    assert says in error["message"]
    assert error["extensions"]["code"] == code
    assert adapter.upstream_calls == calls


async def test_cost_counts_list_sizes_and_variables(erp_hub: Hub, client: httpx.AsyncClient) -> None:
    adapter = erp_hub.sources.adapter("erp")
    calls = adapter.upstream_calls
    error = await _rejected(client, COSTLY, {"n": 100})
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY" and error["extensions"]["limit"] == 250_000
    assert error["extensions"]["cost"] > 250_000 and "`first`" in error["message"]
    assert adapter.upstream_calls == calls  # nothing ran
    status, body = await gql(client, COSTLY, {"n": 2})  # the same document with small pages is fine
    assert status == 200 and "errors" not in body, body


async def test_costs_are_remembered_per_operation_and_page_size(
    erp_hub: Hub, client: httpx.AsyncClient
) -> None:
    """The cost of a document is worked out once per operation and set of page sizes, then remembered: the
    same text must still be judged by the operation asked for and by its variables."""
    two_operations = f"query Cheap {{ customers(first: 1) {{ totalCount }} }} query Costly($n: Int!) {{ one: {PAGE} two: {PAGE} }}"

    async def run(operation: str, variables: dict[str, object]) -> tuple[int, dict[str, Any]]:
        answer = await client.post(
            "/graphql",
            json={"query": two_operations, "operationName": operation, "variables": variables},
            headers={"accept": GRAPHQL_RESPONSE},
        )
        return answer.status_code, answer.json()

    for _ in range(2):  # the second round is answered from what the first one worked out
        status, body = await run("Cheap", {"n": 100})
        assert status == 200 and "errors" not in body, body
        status, body = await run("Costly", {"n": 100})
        assert status == 400 and body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY", body
        status, body = await run("Costly", {"n": 2})
        assert status == 200 and "errors" not in body, body


def test_remembered_costs_and_validations_stay_bounded() -> None:
    outcomes = CostOutcomes(max_entries=3)
    for number in range(10):
        outcomes.store((f"query {number}", None, ()), None)
    assert len(outcomes) == 3 and ("query 9", None, ()) in outcomes and ("query 0", None, ()) not in outcomes
    schema = build_schema()._schema
    results = ValidationResults(max_entries=3)
    for number in range(10):
        text = f"{{ customers(first: {number + 1}) {{ totalCount }} }}"
        assert results.validate(schema, parse(text), text, ()) == []
    assert len(results) == 3


async def test_an_invalid_document_is_refused_every_time(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        error = await _rejected(client, "{ customers(first: 1) { noSuchField } }")
        assert (
            error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED" and "noSuchField" in error["message"]
        )


async def test_fragment_bombs_are_costed_in_linear_time(client: httpx.AsyncClient) -> None:
    fragments = "".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}\n" for i in range(40))
    query = "query { ...F0 }\n" + fragments + "fragment F40 on Query { customers(first: 100) { totalCount } }"
    started = time.perf_counter()
    error = await _rejected(client, query)
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert time.perf_counter() - started < 2


async def test_page_sizes_are_checked_before_execution(client: httpx.AsyncClient) -> None:
    for query, variables in (
        ("{ customers(first: 101) { totalCount } }", None),
        ("query($n: Int) { leads(first: $n) { totalCount } }", {"n": 5000}),
        ('{ customer(id: "x") { orders(first: 500) { totalCount } } }', None),
        ("{ customers(first: -1) { totalCount } }", None),
        ('{ callQueue(owner: "r", first: 201) { id } }', None),
    ):
        error = await _rejected(client, query, variables)
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}, error
        assert "`first` must" in error["message"]
    status, body = await gql(
        client, '{ callQueue(owner: "nobody", first: 150) { id } }'
    )  # its own limit: 200
    assert status == 200 and body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_limits_follow_the_configuration(tmp_path: Path) -> None:
    security = {"limits": {"max_depth": 3, "max_aliases": 1, "max_cost": 10}, "introspection": False}
    async with plain_hub(tmp_path, security=security) as hub, api_client(hub) as client:
        assert (await _rejected(client, "{ leads { edges { node { owner { name } } } } }"))["extensions"][
            "code"
        ] == "QUERY_TOO_DEEP"
        assert (await _rejected(client, "{ a: salesReps { id } b: salesReps { id } }"))["extensions"][
            "code"
        ] == "TOO_MANY_ALIASES"
        assert (await _rejected(client, "{ leads(first: 11) { totalCount } }"))["extensions"][
            "code"
        ] == "QUERY_TOO_COSTLY"
        error = await _rejected(client, "{ __schema { queryType { name } } }")
        assert "introspection" in error["message"].lower()
        status, body = await gql(client, "{ leads(first: 5) { totalCount } }")
        assert status == 200 and body == {"data": {"leads": {"totalCount": 0}}}


async def test_introspection_is_off_by_default_in_production(tmp_path: Path) -> None:
    async with plain_hub(tmp_path, environment="production") as hub, api_client(hub) as client:
        error = await _rejected(client, '{ __type(name: "Query") { name } }')
        assert "introspection" in error["message"].lower()
        # permission errors keep their (safe) message in production too
        async with api_client(hub, key=await issue(hub, "finance")) as finance:
            _, body = await gql(finance, "{ leads { totalCount } }")
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            assert "lead:read" in body["errors"][0]["message"]


# -- rate limiting -----------------------------------------------------------------------------------


async def test_requests_are_rate_limited_per_principal(tmp_path: Path) -> None:
    async with plain_hub(tmp_path, security={"rate_limit": {"requests": 3, "window_seconds": 60}}) as hub:
        async with api_client(hub) as first, api_client(hub) as second:
            for _ in range(3):
                assert (
                    await first.post("/graphql", json={"query": "{ salesReps { id } }"})
                ).status_code == 200
            refused = await first.post("/graphql", json={"query": "{ salesReps { id } }"})
            assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
            assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
            assert (await second.post("/graphql", json={"query": "{ salesReps { id } }"})).status_code == 200
        async with api_client(hub, key="crmhub_guessing") as guesser:
            codes = [(await guesser.get("/metrics")).status_code for _ in range(5)]
            assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]  # guessing is throttled too


@pytest.mark.redis
async def test_redis_shares_the_budget_between_hub_processes() -> None:
    url = redis_url()
    prefix = f"crmhub:test:{time.time_ns()}:"
    config = RateLimitConfig(requests=3, window_seconds=60, redis_url=url, key_prefix=prefix)
    one, two = RateLimiter(config), RateLimiter(config)
    try:
        decisions = [await limiter.check("key:abc") for limiter in (one, two, one, two)]
        assert [d.allowed for d in decisions] == [True, True, True, False]
        assert (await two.check("key:other")).allowed
    finally:
        import redis.asyncio as redis

        client = redis.from_url(url)
        await client.delete(*[k async for k in client.scan_iter(f"{prefix}*")])
        await client.aclose()
        await one.aclose()
        await two.aclose()


async def test_an_unreachable_redis_falls_back_to_local_counting() -> None:
    config = RateLimitConfig(requests=1, redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    limiter = RateLimiter(config)
    try:
        assert (await limiter.check("p")).allowed and not (await limiter.check("p")).allowed
    finally:
        await limiter.aclose()


async def test_the_window_resets(tmp_path: Path) -> None:
    now = [1000.0]
    limiter = RateLimiter(RateLimitConfig(requests=1, window_seconds=10), clock=lambda: now[0])
    assert (await limiter.check("p")).allowed
    refused = await limiter.check("p")
    assert not refused.allowed and refused.reset_after == 10
    now[0] += 10
    assert (await limiter.check("p")).allowed


async def test_graphql_response_media_type_on_rejections(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": DEEP}, headers={"accept": GRAPHQL_RESPONSE})
    assert response.status_code == 400 and response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    legacy = await client.post("/graphql", json={"query": DEEP}, headers={"accept": "application/json"})
    assert legacy.status_code == 200 and "data" not in legacy.json()
