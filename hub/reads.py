"""The read path under the DataLoaders: cache, single-flight, then the guarded adapter call.

For a batch of keys: (1) one multi-get in the cache (when the source/entity has a TTL); (2) the misses go
through single-flight, so keys another request is already loading are awaited, not fetched again; (3) the
keys this batch leads are fetched with ONE guarded adapter call (retries, breaker, slots, timeouts) and
stored; (4) a key whose fetch failed is answered from an expired entry still inside the stale window, and
the request scope notes that stale data was served (source, entity, age). Results are settled per key: a
value, or the exception that key ended with, so one unknown key never fails its neighbours. A ``fresh``
read skips (1) and so also the stale fallback, but still stores what it fetched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeAlias

from adapters.sdk import Adapter, AdapterError, CanonicalRecord, Entity, UnsupportedEntityError
from cache import CachedValue, CacheEntry, FlightTimeoutError, Op, RecordCache, SingleFlight

from .metrics import HubMetrics
from .resilience.errors import DeadlineExceededError
from .resilience.guard import SourceGuard
from .resilience.scope import current_scope, remaining_seconds

FlightKey: TypeAlias = tuple[str, Entity, Op, str | None, str]
Settled: TypeAlias = list[Any]  # per key: the value, or the BaseException that key ended with


def _serves_stale(error: BaseException) -> bool:
    """Failures of the source (or of the time to reach it) may be answered with stale data; a request the
    adapter can never answer may not."""
    return isinstance(error, Exception) and not isinstance(error, UnsupportedEntityError)


class UpstreamReads:
    def __init__(
        self,
        adapters: Mapping[str, Adapter[Any]],
        guards: Mapping[str, SourceGuard],
        metrics: HubMetrics,
        cache: RecordCache | None = None,
    ) -> None:
        self._adapters = adapters
        self._guards = guards
        self.metrics = metrics
        self.cache = cache
        self.flights: SingleFlight[FlightKey, Any] = SingleFlight()

    async def get_many(
        self, source: str, entity: Entity, keys: Sequence[str], *, fresh: bool = False
    ) -> Settled:
        adapter, guard = self._adapters[source], self._guards[source]

        async def fetch(missing: list[str]) -> Sequence[CachedValue]:
            return await guard.call(entity.value, "get_many", lambda: adapter.get_many(entity, missing))

        return await self._read(source, entity, Op.GET, None, keys, fetch, fresh=fresh)

    async def find_related(
        self, source: str, entity: Entity, by_field: str, values: Sequence[str], *, fresh: bool = False
    ) -> Settled:
        adapter, guard = self._adapters[source], self._guards[source]

        async def fetch(missing: list[str]) -> Sequence[CachedValue]:
            return await guard.call(
                entity.value, "find_related", lambda: adapter.find_related(entity, by_field, missing)
            )

        return await self._read(source, entity, Op.REL, by_field, values, fetch, fresh=fresh)

    async def _read(
        self,
        source: str,
        entity: Entity,
        op: Op,
        field: str | None,
        keys: Sequence[str],
        fetch: Callable[[list[str]], Awaitable[Sequence[CachedValue]]],
        *,
        fresh: bool = False,
    ) -> Settled:
        unique = list(dict.fromkeys(str(key) for key in keys))
        cache = self.cache
        ttl = cache.ttl_for(source, entity) if cache is not None else 0.0
        found: dict[str, Any] = {}
        stale: dict[str, CacheEntry] = {}
        if cache is not None and ttl > 0 and unique and not fresh:
            lookup = await cache.lookup(source, entity, op, field, unique)
            found.update(lookup.fresh)
            stale = lookup.stale
            counter = self.metrics.cache_lookups
            if lookup.fresh:
                counter.labels(source, entity.value, "hit").inc(len(lookup.fresh))
            if len(unique) > len(lookup.fresh):
                counter.labels(source, entity.value, "miss").inc(len(unique) - len(lookup.fresh))
        missing = [key for key in unique if key not in found]
        if missing:

            async def lead(flight_keys: list[FlightKey]) -> Sequence[CachedValue]:
                leading = [flight_key[-1] for flight_key in flight_keys]
                values = await fetch(leading)
                if cache is not None and ttl > 0:
                    await cache.store(source, entity, op, field, dict(zip(leading, values, strict=True)), ttl)
                return values

            settled = await self.flights.load(
                [(source, entity, op, field, key) for key in missing], lead, wait_seconds=remaining_seconds()
            )
            for key, result in zip(missing, settled, strict=True):
                found[key] = self._fallback(source, entity, key, result, stale)
        return [found[str(key)] for key in keys]

    def _fallback(
        self, source: str, entity: Entity, key: str, result: Any, stale: Mapping[str, CacheEntry]
    ) -> Any:
        if not isinstance(result, BaseException):
            return result
        error = self._typed(source, entity, result)
        entry = stale.get(key)
        if entry is None or not _serves_stale(error) or self.cache is None:
            return error
        age = entry.age(self.cache.clock())
        self.metrics.cache_lookups.labels(source, entity.value, "stale").inc()
        scope = current_scope()
        if scope is not None:
            scope.served_stale(source, entity.value, age)
        return entry.value

    @staticmethod
    def _typed(source: str, entity: Entity, error: BaseException) -> BaseException:
        if isinstance(error, FlightTimeoutError):
            return DeadlineExceededError(
                "the request deadline ran out while the source was still answering another request's call",
                source=source,
                entity=entity.value,
            )
        if isinstance(error, asyncio.CancelledError):
            return DeadlineExceededError(
                "the shared upstream call was cancelled", source=source, entity=entity.value
            )
        if isinstance(error, AdapterError) and error.source is None:
            error.source = source
        return error

    async def aclose(self) -> None:
        await self.flights.aclose()
        if self.cache is not None:
            await self.cache.aclose()


def first_error(settled: Settled) -> BaseException | None:
    return next((item for item in settled if isinstance(item, BaseException)), None)


def records_only(settled: Settled) -> list[CanonicalRecord | None]:
    return [item if isinstance(item, CanonicalRecord) else None for item in settled]
