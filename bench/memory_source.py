"""An adapter over canonical records held in memory, for benchmarks and tests of identity resolution that
need many sources with controlled data and no upstream to run.

Records are registered under a name (``MemorySource.register``) and the adapter's config names them:
``{"adapter": "memory", "config": {"dataset": "acct"}}``. Records can be replaced between runs to simulate
changes upstream; ``scan(since=...)`` honours ``updated_at`` like a real incremental API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from adapters.sdk import (
    Adapter,
    AdapterRegistry,
    CanonicalRecord,
    Entity,
    EntityMapping,
    Health,
)

_DATASETS: dict[str, dict[Entity, dict[str, CanonicalRecord]]] = {}

_FIELDS = {
    Entity.CUSTOMER: {"external_id": "external_id", "name": "name"},
    Entity.CONTACT: {"external_id": "external_id", "customer_external_id": "customer_external_id"},
    Entity.MARKETING_MEMBER: {"external_id": "external_id", "email": "email", "status": "status"},
}
_RELATIONS = {Entity.CONTACT: frozenset({"customer_external_id"})}


class MemoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str


class MemorySource(Adapter[MemoryConfig]):
    name: ClassVar[str] = "memory"
    config_model: ClassVar[type[BaseModel]] = MemoryConfig

    def __init__(self, *, source: str, config: MemoryConfig) -> None:
        super().__init__(source=source, config=config)
        self.calls = 0

    # -- data ----------------------------------------------------------------------------------------

    @staticmethod
    def register(dataset: str, records: Iterable[CanonicalRecord]) -> None:
        """Replace the records of ``dataset`` (every entity at once)."""
        store: dict[Entity, dict[str, CanonicalRecord]] = {}
        for record in records:
            store.setdefault(record.entity, {})[record.external_id] = record
        _DATASETS[dataset] = store

    @staticmethod
    def upsert(dataset: str, records: Iterable[CanonicalRecord]) -> None:
        store = _DATASETS.setdefault(dataset, {})
        for record in records:
            store.setdefault(record.entity, {})[record.external_id] = record

    @staticmethod
    def remove(dataset: str, entity: Entity, external_ids: Iterable[str]) -> None:
        for external_id in external_ids:
            _DATASETS.get(dataset, {}).get(entity, {}).pop(external_id, None)

    def _records(self, entity: Entity) -> dict[str, CanonicalRecord]:
        return _DATASETS.get(self.config.dataset, {}).get(entity, {})

    # -- adapter -------------------------------------------------------------------------------------

    @property
    def mappings(self) -> Mapping[Entity, EntityMapping]:
        present = _DATASETS.get(self.config.dataset, {})
        return {
            entity: EntityMapping(entity, fields, relations=_RELATIONS.get(entity, frozenset()))
            for entity, fields in _FIELDS.items()
            if entity in present
        }

    async def get_many(self, entity: Entity, keys: Sequence[str]) -> list[CanonicalRecord | None]:
        self.calls += 1
        records = self._records(entity)
        return [records.get(key) for key in keys]

    async def find_related(
        self, entity: Entity, by_field: str, values: Sequence[str]
    ) -> list[list[CanonicalRecord]]:
        self.calls += 1
        grouped: dict[str, list[CanonicalRecord]] = {}
        for record in self._records(entity).values():
            grouped.setdefault(str(getattr(record, by_field, None)), []).append(record)
        return [grouped.get(value, []) for value in values]

    async def scan(self, entity: Entity, since: dt.datetime | None = None) -> AsyncIterator[CanonicalRecord]:
        self.calls += 1
        for record in list(self._records(entity).values()):
            if since is None or (record.updated_at is not None and record.updated_at > since):
                yield record

    async def check(self) -> Health:
        return Health(ok=self.config.dataset in _DATASETS, latency_ms=0.0)

    @property
    def upstream_calls(self) -> int:
        return self.calls


def registry() -> AdapterRegistry:
    """The installed adapters plus ``memory``."""
    found = AdapterRegistry.discover()
    found.register(MemorySource)
    return found


def config(name: str, dataset: str | None = None) -> dict[str, Any]:
    return {"name": name, "adapter": "memory", "config": {"dataset": dataset or name}}
