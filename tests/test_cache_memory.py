"""The bounded memory backend: least-recently-used eviction, the bound itself, expiry, the aiocache
interface, and record invalidation that stays exact when back-references are evicted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from adapters.sdk import CustomerRecord, Entity, Order
from cache import (
    DEFAULT_MEMORY_MAX_ENTRIES,
    BoundedMemoryCache,
    CacheConfig,
    CacheEntry,
    KeyScheme,
    MemoryBackend,
    Op,
    RecordCache,
    create_backend,
)

CUSTOMER = CustomerRecord(
    source="erp", external_id="7", name="Acme GmbH", updated_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
)
ORDERS = [
    Order(source="erp", external_id="10", customer_external_id="7", total=Decimal("12.50")),
    Order(source="erp", external_id="11", customer_external_id="7", total=Decimal("0.10")),
]


class Timer:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def entry(name: str) -> CacheEntry:
    return CacheEntry([name], stored_at=0.0, fresh_until=1.0)


async def held(backend: MemoryBackend, *keys: str) -> set[str]:
    found = await backend.get_many(list(keys))
    return {key for key, value in zip(keys, found, strict=True) if value is not None}


async def test_the_least_recently_read_or_written_entry_goes_first() -> None:
    backend = MemoryBackend(3)
    assert await backend.set_many([(k, entry(k)) for k in "abc"], ttl=60) == []
    await backend.get_many(["a"])  # a read counts as a use...
    await backend.set_many([("b", entry("b2"))], ttl=60)  # ...and so does a write
    evicted = await backend.set_many([("d", entry("d"))], ttl=60)
    assert evicted == [("c", entry("c"))], "c was used least recently"
    assert await held(backend, "a", "b", "c", "d") == {"a", "b", "d"}
    evicted = await backend.set_many([("e", entry("e")), ("f", entry("f"))], ttl=60)
    assert [key for key, _ in evicted] == ["a", "b"], "then in order of last use"
    assert backend.evictions == 3 and len(backend) == 3


async def test_the_bound_holds_however_much_is_stored() -> None:
    backend = MemoryBackend(100)
    for batch in range(10):
        await backend.set_many([(f"k{batch}-{i}", entry(str(i))) for i in range(100)], ttl=60)
        assert len(backend) <= 100
    assert backend.evictions == 900
    assert await held(backend, *(f"k9-{i}" for i in range(100))) == {f"k9-{i}" for i in range(100)}
    assert not await held(backend, *(f"k8-{i}" for i in range(100)))


async def test_entries_past_their_lifetime_are_dropped_before_any_live_one() -> None:
    timer = Timer()
    backend = MemoryBackend(2, timer=timer)
    await backend.set_many([("short", entry("short"))], ttl=5)
    await backend.set_many([("long", entry("long"))], ttl=100)
    timer.now += 6
    assert await held(backend, "short", "long") == {"long"}, "past TTL + stale window it is gone"
    assert await backend.set_many([("new", entry("new"))], ttl=100) == []
    assert await held(backend, "long", "new") == {"long", "new"}
    assert backend.evictions == 0, "expiry is not eviction"
    timer.now += 200
    assert len(backend) == 0


async def test_deletes_and_prefix_deletes_count_only_live_entries() -> None:
    timer = Timer()
    backend = MemoryBackend(10, timer=timer)
    await backend.set_many([("p:1", entry("1")), ("p:2", entry("2")), ("q:1", entry("3"))], ttl=10)
    await backend.set_many([("p:old", entry("old"))], ttl=1)
    timer.now += 2
    assert await backend.delete_prefix("p:") == 2
    assert await backend.delete_many(["q:1", "q:1", "missing", "p:old"]) == 1
    assert len(backend) == 0


async def test_it_is_an_aiocache_backend() -> None:
    timer = Timer()
    cache = BoundedMemoryCache(2, timeout=None, timer=timer)
    assert await cache.set("a", 1, ttl=10) and await cache.get("a") == 1
    assert await cache.add("b", 2) and await cache.exists("b")
    with pytest.raises(ValueError, match="already exists"):
        await cache.add("b", 3)
    assert await cache.multi_get(["a", "b", "c"]) == [1, 2, None]
    assert await cache.expire("b", 1) and not await cache.expire("c", 1)
    timer.now += 2
    assert await cache.get("b") is None and await cache.get("a") == 1
    await cache.multi_set([("x", 1), ("y", 2), ("z", 3)], ttl=10)
    # x takes the place of the expired b; y and z evict a and x.
    assert cache.evictions == 2 and await cache.multi_get(["a", "x", "y", "z"]) == [None, None, 2, 3]
    assert await cache.delete("y") == 1 and await cache.delete("y") == 0
    await cache.clear(namespace="z")
    assert len(cache) == 0
    with pytest.raises(ValueError, match="> 0"):
        BoundedMemoryCache(0)


def test_the_bound_is_configured_and_validated() -> None:
    assert CacheConfig().memory_max_entries == DEFAULT_MEMORY_MAX_ENTRIES == 100_000
    backend = create_backend(CacheConfig(memory_max_entries=5))
    assert isinstance(backend, MemoryBackend) and backend.max_entries == 5
    assert CacheConfig.model_validate({"memory_max_entries": "250"}).memory_max_entries == 250
    for bad, message in [
        (0, "greater than 0"),
        (-1, "greater than 0"),
        (1.5, "integer"),
        ("many", "integer"),
    ]:
        with pytest.raises(ValidationError, match=message):
            CacheConfig.model_validate({"memory_max_entries": bad})


async def test_an_evicted_back_reference_takes_its_lists_along() -> None:
    """Invalidating a record must still reach the lists it was listed in: when the back-reference that
    records them is evicted, those lists go too rather than outliving an invalidation."""
    counted: list[int] = []
    field = "customer_external_id"
    cache = RecordCache(CacheConfig(enabled=True), MemoryBackend(4), on_evict=counted.append)
    await cache.store("erp", Entity.ORDER, Op.REL, field, {"7": ORDERS}, ttl=60)  # 1 list + 2 refs
    assert set((await cache.lookup("erp", Entity.ORDER, Op.REL, field, ["7"])).fresh) == {"7"}
    await cache.store("erp", Entity.CUSTOMER, Op.GET, None, {"7": CUSTOMER, "8": None}, ttl=60)
    assert not (await cache.lookup("erp", Entity.ORDER, Op.REL, field, ["7"])).fresh, (
        "the back-reference of order 10 was evicted, so customer 7's order list went with it"
    )
    assert counted == [2], "one entry evicted for room, one list dropped with it"
    customers = await cache.lookup("erp", Entity.CUSTOMER, Op.GET, None, ["7", "8"])
    assert customers.fresh == {"7": CUSTOMER, "8": None}


async def test_without_pressure_nothing_is_evicted() -> None:
    counted: list[int] = []
    cache = RecordCache(CacheConfig(enabled=True), MemoryBackend(), on_evict=counted.append)
    await cache.store("erp", Entity.ORDER, Op.REL, "customer_external_id", {"7": ORDERS}, ttl=60)
    await cache.store("erp", Entity.CUSTOMER, Op.GET, None, {"7": CUSTOMER}, ttl=60)
    assert counted == [] and isinstance(cache.backend, MemoryBackend) and cache.backend.evictions == 0


def test_back_references_name_their_lists() -> None:
    keys = KeyScheme("hub")
    ref = keys.key("erp", Entity.ORDER, Op.REF, "customer_external_id", "10")
    long_value = "v" * 300
    assert keys.lists_named_by(ref, ["7", long_value]) == [
        keys.key("erp", Entity.ORDER, Op.REL, "customer_external_id", "7"),
        keys.key("erp", Entity.ORDER, Op.REL, "customer_external_id", long_value),
    ]
    assert keys.lists_named_by(keys.key("erp", Entity.ORDER, Op.GET, None, "10"), ["7"]) == []
    assert keys.lists_named_by("other:v1:erp:order:ref:f:1", ["7"]) == []
