"""Caching in the running hub: read-through under the DataLoaders, TTLs, single-flight across requests,
stale-if-error, and invalidation by the admin mutation and by signed change notifications."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from adapters.sdk import Entity
from cache import DEFAULT_MEMORY_MAX_ENTRIES, MemoryBackend
from hub.hooks import sign
from hub.hub import Hub

from .support.desk_hub import attempts, desk_hub
from .support.hub import api_client, gql
from .support.silos import SiloEnv, running_silo, silo_data

CUSTOMER_360 = """query($id: ID!) { customer(id: $id) {
    name website
    tickets { subject }
    orders(first: 5) { edges { node { number } } }
} }"""
ORGANIZATIONS = [o.id for o in silo_data().support.organizations[:4]]
HOOK_SECRET = "hook-secret-0123456789abcdef"
CACHE = {
    "enabled": True,
    "default_ttl_seconds": 60,
    "stale_seconds": 300,
    "sources": {"erp": {"entities": {"order": 5}}},
}
RESILIENCE = {"defaults": {"timeout_seconds": 1, "retry": {"max_attempts": 1}}}


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def desk() -> AsyncIterator[SiloEnv]:
    async with running_silo("support") as env:
        yield env


@pytest.fixture
async def cached(
    desk: SiloEnv, erp_sqlite: Path, tmp_path: Path
) -> AsyncIterator[tuple[Hub, list[str], Clock]]:
    async with desk_hub(
        tmp_path,
        erp_sqlite,
        desk,
        organizations=ORGANIZATIONS,
        cache=CACHE,
        resilience=RESILIENCE,
        hooks={"support": {"secret": HOOK_SECRET}},
    ) as (hub, customers):
        clock = Clock()
        assert hub.sources.cache is not None
        hub.sources.cache.clock = clock
        yield hub, customers, clock


def _calls(hub: Hub) -> dict[str, int]:
    return {name: hub.sources.adapter(name).upstream_calls for name in ("erp", "support")}


def _lookups(hub: Hub, source: str, entity: str, result: str) -> float:
    value: float = hub.metrics.cache_lookups.labels(source, entity, result)._value.get()
    return value


async def _ask(client: httpx.AsyncClient, customer_id: str) -> dict[str, Any]:
    status, body = await gql(client, CUSTOMER_360, {"id": customer_id})
    assert status == 200
    return body


async def test_read_through_hits_and_misses(cached: tuple[Hub, list[str], Clock]) -> None:
    hub, customers, _ = cached
    async with api_client(hub) as client:
        before = _calls(hub)
        first = await _ask(client, customers[0])
        cold = _calls(hub)
        assert cold["erp"] > before["erp"] and cold["support"] > before["support"]
        assert _lookups(hub, "support", "customer", "miss") == 1
        assert _lookups(hub, "support", "customer", "hit") == 0
        second = await _ask(client, customers[0])
        assert _calls(hub) == cold, "a warm customer 360 costs no upstream call"
        assert second == first and "errors" not in second
        assert _lookups(hub, "support", "customer", "hit") == 1
        assert _lookups(hub, "support", "ticket", "hit") == 1
        assert _lookups(hub, "erp", "order", "hit") == 1


async def test_entries_expire_after_their_own_ttl(cached: tuple[Hub, list[str], Clock]) -> None:
    hub, customers, clock = cached
    async with api_client(hub) as client:
        await _ask(client, customers[0])
        erp = hub.sources.adapter("erp")
        calls, support_calls = erp.upstream_calls, _calls(hub)["support"]
        clock.now += 10  # past the orders' 5 s, within the 60 s of everything else
        await _ask(client, customers[0])
        assert erp.upstream_calls == calls + 1, "only the expired orders were read again"
        assert _calls(hub)["support"] == support_calls


async def test_concurrent_requests_share_one_upstream_call(
    desk: SiloEnv, erp_sqlite: Path, tmp_path: Path
) -> None:
    """Single-flight, even with caching off: 10 overlapping requests, one call per read."""
    async with desk_hub(
        tmp_path, erp_sqlite, desk, organizations=ORGANIZATIONS, cache={"enabled": False}
    ) as (hub, customers):
        assert hub.sources.cache is None
        desk.faults.update(latency_ms=500)  # long enough for all ten to overlap, even on a busy machine
        async with api_client(hub) as client:
            bodies = await asyncio.gather(*(_ask(client, customers[0]) for _ in range(10)))
        reads = attempts(hub, "support")
        assert ("customer", "get_many") in reads and ("ticket", "find_related") in reads
        assert all(count == 1 for count in reads.values()), f"10 requests, one call per read: {reads}"
        assert all(body == bodies[0] and "errors" not in body for body in bodies)


async def test_caching_with_the_default_settings(desk: SiloEnv, erp_sqlite: Path, tmp_path: Path) -> None:
    """Only ``enabled: true``: the bounded memory backend and the default TTL serve warm reads."""
    async with desk_hub(tmp_path, erp_sqlite, desk, organizations=ORGANIZATIONS, cache={"enabled": True}) as (
        hub,
        customers,
    ):
        cache = hub.sources.cache
        assert cache is not None and isinstance(cache.backend, MemoryBackend)
        assert cache.backend.max_entries == DEFAULT_MEMORY_MAX_ENTRIES
        assert cache.ttl_for("support", Entity.CUSTOMER) == 60
        async with api_client(hub) as client:
            first = await _ask(client, customers[0])
            cold = _calls(hub)
            assert await _ask(client, customers[0]) == first and "errors" not in first
            assert _calls(hub) == cold, "a warm customer 360 costs no upstream call"
        assert hub.metrics.cache_evictions._value.get() == 0


async def test_a_full_memory_cache_evicts_and_the_hub_still_answers(
    desk: SiloEnv, erp_sqlite: Path, tmp_path: Path
) -> None:
    bounded = {**CACHE, "memory_max_entries": 4}
    async with desk_hub(tmp_path, erp_sqlite, desk, organizations=ORGANIZATIONS, cache=bounded) as (
        hub,
        customers,
    ):
        cache = hub.sources.cache
        assert cache is not None and isinstance(cache.backend, MemoryBackend)
        async with api_client(hub) as client:
            first = {customer: await _ask(client, customer) for customer in customers[:3]}
            assert len(cache.backend) <= 4
            evicted = hub.metrics.cache_evictions._value.get()
            assert evicted > 0 and evicted >= cache.backend.evictions
            before = _calls(hub)
            again = await _ask(client, customers[0])
            assert again == first[customers[0]] and "errors" not in again
            assert _calls(hub) != before, "the evicted customer 360 was read upstream again"
        total = hub.metrics.cache_evictions._value.get()
        assert f"crmhub_cache_evictions_total {total}" in hub.metrics.render().decode()


async def test_stale_data_answers_when_the_source_fails(
    cached: tuple[Hub, list[str], Clock], desk: SiloEnv
) -> None:
    hub, customers, clock = cached
    async with api_client(hub) as client:
        fresh = await _ask(client, customers[0])
        clock.now += 90  # expired (TTL 60) but inside the stale window (300)
        desk.faults.update(down="503")
        stale = await _ask(client, customers[0])
        assert stale["data"] == fresh["data"] and "errors" not in stale
        notices = {(n["source"], n["entity"]): n["ageSeconds"] for n in stale["extensions"]["stale"]}
        assert notices == {("support", "customer"): 90.0, ("support", "ticket"): 90.0}
        assert _lookups(hub, "support", "customer", "stale") == 1
        clock.now += 400  # past the stale window: the failure shows
        gone = await _ask(client, customers[0])
        assert gone["data"]["customer"]["tickets"] is None
        assert {e["extensions"]["code"] for e in gone["errors"]} == {"SOURCE_UNAVAILABLE"}
        assert "extensions" not in gone or "stale" not in gone["extensions"]


async def test_invalidate_cache_mutation_drops_records(
    cached: tuple[Hub, list[str], Clock], desk: SiloEnv
) -> None:
    hub, customers, _ = cached
    mutation = """mutation($source: String!, $entity: String, $ids: [String!]) {
        invalidateCache(source: $source, entity: $entity, ids: $ids) { source entity removed } }"""
    async with api_client(hub) as client:
        await _ask(client, customers[0])
        before = attempts(hub, "support")
        variables = {"source": "support", "entity": "customer", "ids": [str(ORGANIZATIONS[0])]}
        status, body = await gql(client, mutation, variables)
        assert status == 200 and body["data"]["invalidateCache"] == {
            "source": "support",
            "entity": "customer",
            "removed": 1,
        }
        await _ask(client, customers[0])
        after = attempts(hub, "support")
        again = {key for key in after if after[key] > before.get(key, 0)}
        assert again == {("customer", "get_many")}, "only the invalidated organization was read again"

        status, body = await gql(client, mutation, {"source": "support"})
        assert body["data"]["invalidateCache"]["removed"] >= 2, "the whole source: organization and tickets"

        for variables, field in [
            ({"source": "nowhere"}, "source"),
            ({"source": "support", "entity": "unicorn"}, "entity"),
            ({"source": "support", "entity": "order"}, "entity"),
            ({"source": "support", "ids": ["1"]}, "entity"),
            ({"source": "support", "entity": "customer", "ids": [""]}, "ids"),
        ]:
            status, body = await gql(client, mutation, variables)
            assert status == 200 and body["data"] is None, body
            assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_the_mutation_needs_the_cache_write_permission(cached: tuple[Hub, list[str], Clock]) -> None:
    hub, _, _ = cached
    mutation = 'mutation { invalidateCache(source: "support") { removed } }'
    async with api_client(hub, key=None) as client:
        _, refused = await gql(client, mutation)
    assert refused.get("data") is None or refused["data"].get("invalidateCache") is None, refused
    assert refused["errors"][0]["extensions"]["code"] in {"UNAUTHENTICATED", "FORBIDDEN"}


def _signed(body: dict[str, Any], *, secret: str = HOOK_SECRET, at: float | None = None) -> dict[str, Any]:
    raw = orjson.dumps(body)
    timestamp = str(int(at if at is not None else time.time()))
    return {
        "content": raw,
        "headers": {
            "x-crmhub-timestamp": timestamp,
            "x-crmhub-signature": sign(secret, timestamp, raw),
            "content-type": "application/json",
        },
    }


async def test_a_signed_change_notification_invalidates_records(cached: tuple[Hub, list[str], Clock]) -> None:
    hub, customers, _ = cached
    async with api_client(hub) as client:
        await _ask(client, customers[0])
        before = attempts(hub, "support")
        change = {
            "changes": [
                {"entity": "customer", "ids": [ORGANIZATIONS[0]]},
                {"entity": "ticket", "related": {"customer_external_id": [str(ORGANIZATIONS[0])]}},
            ]
        }
        response = await client.post("/hooks/support", **_signed(change))
        assert response.status_code == 200 and response.json() == {"removed": 2}
        await _ask(client, customers[0])
        after = attempts(hub, "support")
        again = {key for key in after if after[key] > before.get(key, 0)}
        assert again == {("customer", "get_many"), ("ticket", "find_related")}, (
            "exactly the two dropped entries"
        )


@pytest.mark.parametrize(
    ("request_kwargs", "status"),
    [
        ({"content": b'{"entity": "customer", "ids": ["1"]}'}, 401),  # unsigned
        (_signed({"entity": "customer", "ids": ["1"]}, secret="another-secret-0123456789"), 401),
        (_signed({"entity": "customer", "ids": ["1"]}, at=time.time() - 3600), 401),  # a replay
        (_signed({"entity": "customer"}), 400),
        (_signed({"entity": "unicorn", "ids": ["1"]}), 400),
        (_signed({"changes": []}), 400),
    ],
    ids=["unsigned", "wrong-secret", "too-old", "no-ids", "bad-entity", "empty"],
)
async def test_bad_notifications_are_refused(
    cached: tuple[Hub, list[str], Clock], request_kwargs: dict[str, Any], status: int
) -> None:
    hub, _, _ = cached
    async with api_client(hub) as client:
        response = await client.post("/hooks/support", **request_kwargs)
    assert response.status_code == status, response.text
    assert HOOK_SECRET not in response.text


async def test_a_source_without_a_hook_is_not_found(cached: tuple[Hub, list[str], Clock]) -> None:
    hub, _, _ = cached
    async with api_client(hub) as client:
        for source in ("erp", "nowhere"):
            response = await client.post("/hooks/" + source, **_signed({"entity": "customer", "ids": ["1"]}))
            assert response.status_code == 404
