"""The configured sources: adapters built from config, every upstream call cached, guarded and measured.

Services never call an adapter directly; they go through ``Sources`` so that caching (``hub/reads.py``,
``cache/``), resilience (``hub/resilience/``: timeouts, retries, circuit breaker, concurrency limit) and
metrics apply to every read in one place.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opentelemetry import trace

from adapters.sdk import (
    Adapter,
    AdapterError,
    AdapterRegistry,
    Aggregate,
    CanonicalRecord,
    Entity,
    Health,
    Measure,
)
from cache import RecordCache

from .config import HubSettings
from .errors import ConfigError
from .metrics import HubMetrics
from .reads import Settled, UpstreamReads, first_error
from .resilience.breaker import BreakerState
from .resilience.config import ResilienceConfig
from .resilience.guard import SourceGuard
from .resilience.latency import LatencySummary
from .resilience.shared import SharedBreakers


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    adapter: str
    health: Health
    breaker: BreakerState = BreakerState.CLOSED
    #: Why the breaker opened, while it is open or half-open.
    breaker_reason: str | None = None
    #: Upstream latency over the recent window (None before the first call).
    latency: LatencySummary | None = None


class Sources:
    def __init__(
        self,
        adapters: dict[str, Adapter[Any]],
        kinds: dict[str, str],
        metrics: HubMetrics,
        *,
        resilience: ResilienceConfig | None = None,
        cache: RecordCache | None = None,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self._adapters = adapters
        self._kinds = kinds
        self.metrics = metrics
        self.resilience = resilience or ResilienceConfig()
        tracer = tracer or trace.get_tracer("crmhub")
        self.guards = {
            name: SourceGuard(
                name,
                self.resilience.policy_for(name),
                metrics=metrics,
                tracer=tracer,
                latency_window=self.resilience.latency_window,
            )
            for name in adapters
        }
        self.reads = UpstreamReads(adapters, self.guards, metrics, cache)
        self.shared_breakers: SharedBreakers | None = None

    @property
    def cache(self) -> RecordCache | None:
        return self.reads.cache

    @classmethod
    def from_settings(
        cls,
        settings: HubSettings,
        metrics: HubMetrics,
        registry: AdapterRegistry | None = None,
        *,
        tracer: trace.Tracer | None = None,
    ) -> Sources:
        registry = registry or AdapterRegistry.discover()
        adapters: dict[str, Adapter[Any]] = {}
        kinds: dict[str, str] = {}
        for source in settings.sources:
            if not source.enabled:
                continue
            try:
                adapters[source.name] = registry.create(
                    source=source.name,
                    adapter=source.adapter,
                    config=source.config,
                    base_dir=settings.base_dir,
                )
            except AdapterError as exc:
                raise ConfigError(
                    f"source {source.name!r} (adapter {source.adapter!r}): {exc.message}"
                ) from None
            kinds[source.name] = source.adapter
        cache = None
        if settings.cache.enabled:
            cache = RecordCache(
                settings.cache,
                on_error=lambda op: metrics.cache_errors.labels(op).inc(),
                on_evict=metrics.cache_evictions.inc,
            )
        return cls(adapters, kinds, metrics, resilience=settings.resilience, cache=cache, tracer=tracer)

    def names(self) -> list[str]:
        return list(self._adapters)

    def adapter(self, name: str) -> Adapter[Any]:
        return self._adapters[name]

    def providing(self, entity: Entity, by_field: str | None = None) -> list[str]:
        """Sources that provide ``entity`` (and can look it up by ``by_field``), in config order."""
        return [
            name
            for name, adapter in self._adapters.items()
            if adapter.supports(entity) and (by_field is None or by_field in adapter.relations(entity))
        ]

    async def get_many(
        self, source: str, entity: Entity, keys: Sequence[str], *, fresh: bool = False
    ) -> list[CanonicalRecord | None]:
        """Records by key (``None`` where unknown); raises the first key's error when any failed.
        ``fresh`` reads past the cache (what is read still refreshes it): for callers that must see the
        upstream as it is now, like identity resolution, which would otherwise miss a change for a TTL."""
        settled = await self.reads.get_many(source, entity, keys, fresh=fresh)
        error = first_error(settled)
        if error is not None:
            raise error
        return settled

    async def find_related(
        self, source: str, entity: Entity, by_field: str, values: Sequence[str], *, fresh: bool = False
    ) -> list[list[CanonicalRecord]]:
        settled = await self.reads.find_related(source, entity, by_field, values, fresh=fresh)
        error = first_error(settled)
        if error is not None:
            raise error
        return settled

    async def get_many_settled(self, source: str, entity: Entity, keys: Sequence[str]) -> Settled:
        """Like ``get_many``, but each key gets its record or its own exception (what DataLoaders want)."""
        return await self.reads.get_many(source, entity, keys)

    async def find_related_settled(
        self, source: str, entity: Entity, by_field: str, values: Sequence[str]
    ) -> Settled:
        return await self.reads.find_related(source, entity, by_field, values)

    async def aggregate_related(
        self,
        source: str,
        entity: Entity,
        by_field: str,
        values: Sequence[str],
        measures: Sequence[Measure],
        *,
        group_by: Sequence[str] = (),
    ) -> list[list[Aggregate]]:
        """Counts and sums of related records per value (bulk reads): guarded like every call, never cached
        (a bulk read would only evict what interactive requests need)."""
        adapter = self._adapters[source]
        return await self.guards[source].call(
            entity.value,
            "aggregate_related",
            lambda: adapter.aggregate_related(entity, by_field, values, measures, group_by=group_by),
        )

    async def scan(
        self, source: str, entity: Entity, since: datetime | None = None
    ) -> AsyncIterator[CanonicalRecord]:
        adapter = self._adapters[source]
        async for record in self.guards[source].stream(entity.value, lambda: adapter.scan(entity, since)):
            yield record

    async def check(self, *, timeout_s: float | None = None) -> list[SourceStatus]:
        """Probe every source (within its configured timeout unless ``timeout_s`` is given) and report its
        breaker state and recent latency. Probes never move a breaker."""

        async def one(name: str, adapter: Adapter[Any]) -> SourceStatus:
            guard = self.guards[name]
            timeout = timeout_s if timeout_s is not None else guard.policy.timeout_seconds
            started = time.perf_counter()
            try:
                health = await asyncio.wait_for(adapter.check(), timeout)
            except TimeoutError:
                health = Health(
                    ok=False, latency_ms=(time.perf_counter() - started) * 1000, detail="timed out"
                )
            except Exception as exc:  # check() must never take the hub down; report instead
                health = Health(ok=False, latency_ms=0.0, detail=f"check failed: {type(exc).__name__}")
            breaker = guard.breaker
            return SourceStatus(
                name=name,
                adapter=self._kinds[name],
                health=health,
                breaker=breaker.state,
                breaker_reason=breaker.opened_reason,
                latency=guard.latency.summary(),
            )

        return list(await asyncio.gather(*(one(n, a) for n, a in self._adapters.items())))

    def share_breakers(self, redis_url: str, prefix: str) -> SharedBreakers:
        """Share the breakers' decisions with the other hub processes on ``redis_url`` and ``prefix``."""
        if self.shared_breakers is None:
            breakers = {name: guard.breaker for name, guard in self.guards.items()}
            self.shared_breakers = SharedBreakers(redis_url, prefix, breakers)
            self.shared_breakers.start()
        return self.shared_breakers

    async def aclose(self) -> None:
        if self.shared_breakers is not None:
            await self.shared_breakers.aclose()
        await self.reads.aclose()
        await asyncio.gather(
            *(adapter.aclose() for adapter in self._adapters.values()), return_exceptions=True
        )
