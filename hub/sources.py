"""The configured sources: adapters built from config, with every upstream call measured.

Services never call an adapter directly; they go through ``Sources`` so that metrics (and later caching
and resilience) apply to every read in one place.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.sdk import Adapter, AdapterError, AdapterRegistry, CanonicalRecord, Entity, Health

from .config import HubSettings
from .errors import ConfigError
from .metrics import HubMetrics


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    adapter: str
    health: Health


class Sources:
    def __init__(self, adapters: dict[str, Adapter[Any]], kinds: dict[str, str], metrics: HubMetrics) -> None:
        self._adapters = adapters
        self._kinds = kinds
        self.metrics = metrics

    @classmethod
    def from_settings(
        cls, settings: HubSettings, metrics: HubMetrics, registry: AdapterRegistry | None = None
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
        return cls(adapters, kinds, metrics)

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

    @contextmanager
    def _measured(self, source: str, entity: Entity, operation: str) -> Iterator[None]:
        started = time.perf_counter()
        outcome = "ok"
        try:
            yield
        except AdapterError as exc:
            outcome = exc.code.lower()
            raise
        except Exception:
            outcome = "error"
            raise
        finally:
            self.metrics.upstream_requests.labels(source, entity.value, operation, outcome).inc()
            self.metrics.upstream_latency.labels(source, entity.value, operation).observe(
                time.perf_counter() - started
            )

    async def get_many(
        self, source: str, entity: Entity, keys: Sequence[str]
    ) -> list[CanonicalRecord | None]:
        with self._measured(source, entity, "get_many"):
            return await self._adapters[source].get_many(entity, keys)

    async def find_related(
        self, source: str, entity: Entity, by_field: str, values: Sequence[str]
    ) -> list[list[CanonicalRecord]]:
        with self._measured(source, entity, "find_related"):
            return await self._adapters[source].find_related(entity, by_field, values)

    async def scan(
        self, source: str, entity: Entity, since: datetime | None = None
    ) -> AsyncIterator[CanonicalRecord]:
        with self._measured(source, entity, "scan"):
            async for record in self._adapters[source].scan(entity, since):
                yield record

    async def check(self, *, timeout_s: float = 5.0) -> list[SourceStatus]:
        async def one(name: str, adapter: Adapter[Any]) -> SourceStatus:
            started = time.perf_counter()
            try:
                health = await asyncio.wait_for(adapter.check(), timeout_s)
            except TimeoutError:
                health = Health(
                    ok=False, latency_ms=(time.perf_counter() - started) * 1000, detail="timed out"
                )
            except Exception as exc:  # check() must never take the hub down; report instead
                health = Health(ok=False, latency_ms=0.0, detail=f"check failed: {type(exc).__name__}")
            return SourceStatus(name=name, adapter=self._kinds[name], health=health)

        return list(await asyncio.gather(*(one(n, a) for n, a in self._adapters.items())))

    async def aclose(self) -> None:
        await asyncio.gather(
            *(adapter.aclose() for adapter in self._adapters.values()), return_exceptions=True
        )
