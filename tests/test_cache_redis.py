"""The Redis backend on the real server: entries, the stale window and invalidation, and two separate hub
processes sharing one cache. Every test uses its own key prefix and removes its keys afterwards."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.sdk import CustomerRecord, Entity
from cache import CacheConfig, CacheUnavailableError, Op, RecordCache
from hub.config import load_settings
from hub.hub import Hub
from hub.identity import seed_identity_map
from hub.invalidation import invalidate
from hub.store.models import HubCustomer

from .support.cache_reader import QUERY
from .support.hub import api_client, erp_source, gql, write_config

pytestmark = pytest.mark.redis
REPO = Path(__file__).resolve().parents[1]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_entries_live_in_redis(redis_prefix: tuple[str, str]) -> None:
    url, name = redis_prefix
    config = CacheConfig(enabled=True, backend="redis", redis_url=url, key_prefix=name, stale_seconds=30)
    clock = Clock()
    cache = RecordCache(config, clock=clock)
    record = CustomerRecord(source="erp", external_id="7", name="Acme")
    try:
        await cache.store("erp", Entity.CUSTOMER, Op.GET, None, {"7": record, "8": None}, ttl=5)
        raw = await cache.backend.client.get(f"{name}:v1:erp:customer:get:-:7")  # type: ignore[attr-defined]
        assert json.loads(raw)["v"]["name"] == "Acme", "stored as JSON of the canonical record"
        found = await cache.lookup("erp", Entity.CUSTOMER, Op.GET, None, ["7", "8", "9"])
        assert found.fresh == {"7": record, "8": None}
        ttl_ms = await cache.backend.client.pttl(f"{name}:v1:erp:customer:get:-:7")  # type: ignore[attr-defined]
        assert 30_000 < ttl_ms <= 35_000, "Redis keeps the entry for its TTL plus the stale window"
        clock.now += 10
        found = await cache.lookup("erp", Entity.CUSTOMER, Op.GET, None, ["7"])
        assert not found.fresh and found.stale["7"].value == record
        await cache.store("erp", Entity.ORDER, Op.GET, None, {"1": None}, ttl=5)
        assert await cache.invalidate_scope("erp", Entity.CUSTOMER) == 2
        assert not (await cache.lookup("erp", Entity.CUSTOMER, Op.GET, None, ["7"])).stale
        assert (await cache.lookup("erp", Entity.ORDER, Op.GET, None, ["1"])).fresh == {"1": None}
    finally:
        await cache.aclose()


async def test_an_unreachable_redis_is_a_miss_and_invalidation_says_so() -> None:
    config = CacheConfig(
        enabled=True, backend="redis", redis_url="redis://127.0.0.1:1/0", operation_timeout_seconds=0.5
    )
    errors: list[str] = []
    cache = RecordCache(config, on_error=errors.append)
    try:
        found = await cache.lookup("erp", Entity.CUSTOMER, Op.GET, None, ["7"])
        assert not found.fresh and errors == ["lookup"]
        with pytest.raises(CacheUnavailableError, match="redis cache did not answer"):
            await cache.invalidate_scope("erp")
    finally:
        await cache.aclose()


def _read_in_another_process(config: Path, customer_id: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.cache_reader", str(config), customer_id],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def test_two_hub_processes_share_the_cache(
    redis_prefix: tuple[str, str], erp_sqlite: Path, tmp_path: Path
) -> None:
    url, name = redis_prefix
    config = write_config(
        tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}",
        sources=[erp_source(f"sqlite+aiosqlite:///{erp_sqlite}")],
        cache={"enabled": True, "backend": "redis", "redis_url": url, "key_prefix": name},
    )
    hub = await Hub.start(load_settings(config))
    try:
        await seed_identity_map(hub)
        async with hub.db.session() as session:
            customer_id = await session.scalar(select(HubCustomer.id).order_by(HubCustomer.id).limit(1))
        assert customer_id

        first = await asyncio.to_thread(_read_in_another_process, config, customer_id)
        assert first["status"] == 200 and first["calls"] >= 3, "the first process read the ERP"
        second = await asyncio.to_thread(_read_in_another_process, config, customer_id)
        assert second["calls"] == 0, "the second process found everything in Redis"
        assert second["body"] == first["body"] and "errors" not in second["body"]

        result = await invalidate(hub, source="erp", entity="customer")
        assert result.removed == 1
        erp = hub.sources.adapter("erp")
        before = erp.upstream_calls
        async with api_client(hub) as client:
            status, body = await gql(client, QUERY, {"id": customer_id})
        assert status == 200 and body == first["body"]
        assert erp.upstream_calls - before == 1, (
            "after the invalidation only the customer record was read again"
        )
    finally:
        await hub.aclose()
