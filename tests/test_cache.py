"""The cache package on its own: key scheme, serializer, freshness and the stale window, record-level
invalidation, single-flight."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from adapters.sdk import Address, CustomerRecord, Entity, Order, Payment
from cache import (
    CacheConfig,
    CacheEntry,
    CorruptEntryError,
    FlightTimeoutError,
    KeyScheme,
    MemoryBackend,
    Op,
    RecordCache,
    SingleFlight,
    dump_entry,
    load_entry,
)

CUSTOMER = CustomerRecord(
    source="erp",
    external_id="7",
    name="Acme GmbH",
    address=Address(city="Köln", country="DE", postal_code="50667"),
    updated_at=dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC),
)
ORDERS = [
    Order(source="erp", external_id="10", customer_external_id="7", total=Decimal("12.50"), currency="EUR"),
    Order(source="erp", external_id="11", customer_external_id="7", total=Decimal("0.10")),
]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_keys_are_versioned_and_scoped() -> None:
    keys = KeyScheme("crmhub")
    assert keys.key("erp", Entity.CUSTOMER, Op.GET, None, "7") == "crmhub:v1:erp:customer:get:-:7"
    assert (
        keys.key("erp", Entity.ORDER, Op.REL, "customer_external_id", "a:b")
        == "crmhub:v1:erp:order:rel:customer_external_id:a:b"
    )
    assert keys.key("erp", Entity.ORDER, Op.GET, None, "x").startswith(keys.scope("erp", Entity.ORDER))
    assert not keys.key("erp2", Entity.ORDER, Op.GET, None, "x").startswith(keys.scope("erp"))
    long_key = keys.key("erp", Entity.ORDER, Op.GET, None, "k" * 500)
    assert len(long_key) < 120 and long_key != keys.key("erp", Entity.ORDER, Op.GET, None, "k" * 499)


@pytest.mark.parametrize("value", [CUSTOMER, None, ORDERS, ["7", "8"], []])
def test_entries_round_trip_through_json(value: object) -> None:
    entry = CacheEntry(value, stored_at=10.5, fresh_until=70.5)  # type: ignore[arg-type]
    restored = load_entry(dump_entry(entry))
    assert restored == entry
    if isinstance(value, list) and value and isinstance(value[0], Order):
        assert isinstance(restored.value, list) and restored.value[0].total == Decimal("12.50")


def test_every_field_type_survives_the_serializer() -> None:
    payment = Payment(
        source="acct",
        external_id="p1",
        customer_external_id="7",
        amount=Decimal("99.99"),
        paid_at="2024-02-03T04:05:06Z",
        invoice_external_ids=("i1", "i2"),
    )
    restored = load_entry(dump_entry(CacheEntry(payment, 0, 1))).value
    assert restored == payment and isinstance(restored, Payment)
    assert restored.invoice_external_ids == ("i1", "i2") and restored.paid_at.tzinfo is not None


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"s": 1}',
        b'{"s": 1, "f": 2, "k": "r", "v": {"entity": "nope"}}',
        b'{"s": 1, "f": 2, "k": "r", "v": {"entity": "customer", "source": "erp"}}',
        b'{"s": 1, "f": 2, "k": "?"}',
    ],
)
def test_unreadable_entries_are_reported_not_crashed_on(raw: bytes) -> None:
    with pytest.raises(CorruptEntryError):
        load_entry(raw)


def test_ttls_per_source_and_entity() -> None:
    config = CacheConfig.model_validate(
        {
            "enabled": True,
            "default_ttl_seconds": 60,
            "sources": {"erp": {"ttl_seconds": 30, "entities": {"product": 3600, "order": 0}}},
        }
    )
    assert config.ttl_for("erp", Entity.PRODUCT) == 3600
    assert config.ttl_for("erp", Entity.ORDER) == 0
    assert config.ttl_for("erp", Entity.CUSTOMER) == 30
    assert config.ttl_for("support", Entity.CUSTOMER) == 60
    assert CacheConfig().ttl_for("erp", Entity.CUSTOMER) == 60, "caching is on by default"
    assert CacheConfig(enabled=False).ttl_for("erp", Entity.CUSTOMER) == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"backend": "memcached"}, "must be 'memory' or 'redis'"),
        ({"enabled": True, "backend": "redis"}, "needs redis_url"),
        ({"redis_url": "http://x"}, "redis://"),
        ({"key_prefix": "a b"}, "letters, digits"),
        ({"default_ttl_seconds": -1}, "greater than or equal to 0"),
        ({"sources": {"erp": {"entities": {"unicorn": 5}}}}, "unicorn"),
        ({"sources": {"erp": {"entities": {"order": -5}}}}, ">= 0"),
    ],
)
def test_bad_cache_config_is_refused_clearly(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CacheConfig.model_validate(raw)


async def test_fresh_then_stale_then_gone() -> None:
    clock = Clock()
    cache = RecordCache(CacheConfig(enabled=True, stale_seconds=100), MemoryBackend(), clock=clock)
    await cache.store("erp", Entity.CUSTOMER, Op.GET, None, {"7": CUSTOMER, "8": None}, ttl=10)
    found = await cache.lookup("erp", Entity.CUSTOMER, Op.GET, None, ["7", "8", "9"])
    assert found.fresh == {"7": CUSTOMER, "8": None} and not found.stale
    clock.now += 50
    found = await cache.lookup("erp", Entity.CUSTOMER, Op.GET, None, ["7"])
    assert not found.fresh and found.stale["7"].value == CUSTOMER
    assert found.stale["7"].age(clock.now) == pytest.approx(50)
    clock.now += 100
    found = await cache.lookup("erp", Entity.CUSTOMER, Op.GET, None, ["7"])
    assert not found.fresh and not found.stale, "past the stale window nothing is served"


async def test_invalidating_a_record_drops_the_lists_it_is_in() -> None:
    cache = RecordCache(CacheConfig(enabled=True), MemoryBackend(), clock=Clock())
    field = "customer_external_id"
    await cache.store("erp", Entity.ORDER, Op.REL, field, {"7": ORDERS, "8": []}, ttl=60)
    await cache.store("erp", Entity.ORDER, Op.GET, None, {"10": ORDERS[0], "11": ORDERS[1]}, ttl=60)
    removed = await cache.invalidate("erp", Entity.ORDER, ["10"], relations=[field])
    assert removed == 3  # order 10, the list of customer 7, and the back-reference of order 10
    lists = await cache.lookup("erp", Entity.ORDER, Op.REL, field, ["7", "8"])
    assert set(lists.fresh) == {"8"}
    records = await cache.lookup("erp", Entity.ORDER, Op.GET, None, ["10", "11"])
    assert set(records.fresh) == {"11"}
    removed = await cache.invalidate("erp", Entity.ORDER, [], related_values={field: ["8"]})
    assert removed == 1 and not (await cache.lookup("erp", Entity.ORDER, Op.REL, field, ["8"])).fresh


async def test_invalidating_a_scope() -> None:
    cache = RecordCache(CacheConfig(enabled=True), MemoryBackend(), clock=Clock())
    await cache.store("erp", Entity.ORDER, Op.GET, None, {"10": ORDERS[0]}, ttl=60)
    await cache.store("erp", Entity.CUSTOMER, Op.GET, None, {"7": CUSTOMER}, ttl=60)
    await cache.store("erp2", Entity.CUSTOMER, Op.GET, None, {"7": CUSTOMER}, ttl=60)
    assert await cache.invalidate_scope("erp", Entity.ORDER) == 1
    assert await cache.invalidate_scope("erp") == 1
    assert (await cache.lookup("erp2", Entity.CUSTOMER, Op.GET, None, ["7"])).fresh


class BrokenBackend(MemoryBackend):
    async def get_many(self, keys: object) -> list[CacheEntry | None]:  # type: ignore[override]
        raise ConnectionError("cache host unreachable")

    async def set_many(self, items: object, ttl: float) -> None:  # type: ignore[override]
        raise ConnectionError("cache host unreachable")


async def test_a_broken_backend_is_a_miss_never_a_failure() -> None:
    failures: list[str] = []
    cache = RecordCache(CacheConfig(enabled=True), BrokenBackend(), on_error=failures.append)
    await cache.store("erp", Entity.CUSTOMER, Op.GET, None, {"7": CUSTOMER}, ttl=60)
    found = await cache.lookup("erp", Entity.CUSTOMER, Op.GET, None, ["7"])
    assert not found.fresh and not found.stale
    assert failures == ["store", "lookup"]


async def test_single_flight_shares_one_call_between_concurrent_loads() -> None:
    flights: SingleFlight[str, str] = SingleFlight()
    calls: list[list[str]] = []
    release = asyncio.Event()

    async def fetch(keys: list[str]) -> list[str]:
        calls.append(keys)
        await release.wait()
        return [key.upper() for key in keys]

    loads = [asyncio.create_task(flights.load(["a", "b"], fetch)) for _ in range(20)]
    later = asyncio.create_task(flights.load(["b", "c"], fetch))
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*loads, later)
    assert calls == [["a", "b"], ["c"]], "20 identical loads cost one call; the overlap only fetched c"
    assert all(r == ["A", "B"] for r in results[:-1]) and results[-1] == ["B", "C"]
    assert flights.in_flight() == 0


async def test_single_flight_failures_reach_every_waiter_and_are_not_remembered() -> None:
    flights: SingleFlight[str, str] = SingleFlight()
    attempts = 0

    async def failing(keys: list[str]) -> list[str]:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.01)
        raise ConnectionError("down")

    results = await asyncio.gather(*(flights.load(["a"], failing) for _ in range(5)))
    assert attempts == 1 and all(isinstance(r[0], ConnectionError) for r in results)

    async def working(keys: list[str]) -> list[str]:
        return ["ok" for _ in keys]

    assert await flights.load(["a"], working) == ["ok"], "a failed flight is not cached"


async def test_a_caller_that_gives_up_does_not_cancel_the_shared_call() -> None:
    flights: SingleFlight[str, str] = SingleFlight()

    async def slow(keys: list[str]) -> list[str]:
        await asyncio.sleep(0.05)
        return ["done"]

    impatient = await flights.load(["a"], slow, wait_seconds=0.001)
    assert isinstance(impatient[0], FlightTimeoutError)
    assert await flights.load(["a"], slow) == ["done"]
    assert flights.fetches == 1, "the second caller joined the call the first one started"
