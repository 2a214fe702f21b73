"""The ``Adapter`` base: the one extension point for connecting a silo to the hub.

An adapter declares its ``config_model`` and its entity mappings and implements four batch reads. The hub's
DataLoaders call ``get_many`` and ``find_related`` with whole batches, so an adapter must answer a batch
with ONE upstream call or query (or as few as the upstream's batch limits allow), never one per key.

Bulk reads may also ask for ``aggregate_related`` (counts and sums per related group); it works on every
adapter through ``find_related`` and is worth overriding where the upstream can aggregate itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from .aggregate import Aggregate, Measure, aggregate_records, check_aggregate
from .errors import AdapterConfigError, UnsupportedEntityError
from .health import Health
from .mapping import EntityMapping
from .models import CanonicalRecord, Entity
from .types import ExternalId

ConfigT = TypeVar("ConfigT", bound=BaseModel)


class Adapter(ABC, Generic[ConfigT]):
    """Base class of every adapter.

    Subclasses set ``name`` (the adapter type referenced from ``crmhub.yaml``) and ``config_model``, and
    implement ``mappings``, ``get_many``, ``find_related``, ``scan`` and ``check``.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]

    def __init__(self, *, source: str, config: ConfigT) -> None:
        self.source = source
        self.config = config

    @classmethod
    def from_config(
        cls, *, source: str, config: Mapping[str, Any], base_dir: Path | None = None
    ) -> Adapter[Any]:
        """Validate a raw config mapping against ``config_model`` and build the adapter.

        ``base_dir`` is the directory of the config file, for adapters that resolve relative paths.
        """
        try:
            # config_model is the ConfigT of the subclass; the class attribute cannot say so to mypy.
            model: Any = cls.config_model.model_validate(dict(config), context={"base_dir": base_dir})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "config"
            raise AdapterConfigError(f"config.{where}: {first['msg']}", source=source) from None
        return cls(source=source, config=model)

    # -- declarations -------------------------------------------------------------------------------

    @property
    @abstractmethod
    def mappings(self) -> Mapping[Entity, EntityMapping]:
        """The canonical entities this adapter provides and how upstream records map onto them."""

    def supports(self, entity: Entity) -> bool:
        return entity in self.mappings

    def relations(self, entity: Entity) -> frozenset[str]:
        mapping = self.mappings.get(entity)
        return mapping.relations if mapping else frozenset()

    def mapping_for(self, entity: Entity, by_field: str | None = None) -> EntityMapping:
        """The mapping for ``entity``; raises ``UnsupportedEntityError`` for what the adapter cannot do."""
        mapping = self.mappings.get(entity)
        if mapping is None:
            raise UnsupportedEntityError(
                f"does not provide {entity.value}", source=self.source, entity=entity.value
            )
        if by_field is not None and by_field not in mapping.relations:
            raise UnsupportedEntityError(
                f"cannot look up {entity.value} by {by_field!r}", source=self.source, entity=entity.value
            )
        return mapping

    # -- batch reads --------------------------------------------------------------------------------

    @abstractmethod
    async def get_many(self, entity: Entity, keys: Sequence[ExternalId]) -> list[CanonicalRecord | None]:
        """Records by key, in the order of ``keys``, ``None`` where a key is unknown."""

    @abstractmethod
    async def find_related(
        self, entity: Entity, by_field: str, values: Sequence[str]
    ) -> list[list[CanonicalRecord]]:
        """For each value, the records whose ``by_field`` equals it (aligned with ``values``)."""

    @abstractmethod
    def scan(self, entity: Entity, since: datetime | None = None) -> AsyncIterator[CanonicalRecord]:
        """Every record of ``entity`` (changed after ``since`` when given), read page by page."""

    async def aggregate_related(
        self,
        entity: Entity,
        by_field: str,
        values: Sequence[str],
        measures: Sequence[Measure],
        *,
        group_by: Sequence[str] = (),
    ) -> list[list[Aggregate]]:
        """For each value, the aggregates of the records whose ``by_field`` equals it (aligned with
        ``values``): one ``Aggregate`` per distinct ``group_by`` combination, sorted; ``[]`` when none.

        Optional capability for bulk reads. This default reads the records with ``find_related`` and
        aggregates them in Python; adapters that can aggregate upstream (SQL ``GROUP BY``) override it.
        Raises ``UnsupportedEntityError`` for a relation, group field or measure the mapping cannot serve.
        """
        check_aggregate(self.mapping_for(entity, by_field), measures, group_by, source=self.source)
        found = await self.find_related(entity, by_field, values)
        return [aggregate_records(records, measures, group_by) for records in found]

    @abstractmethod
    async def check(self) -> Health:
        """Probe the upstream cheaply; never raises."""

    async def aclose(self) -> None:  # optional hook, most adapters hold a client to close
        """Release connections; the hub calls it once at shutdown."""

    @property
    def upstream_calls(self) -> int:
        """How many calls (HTTP requests, SQL queries...) this adapter has sent upstream so far.

        The conformance kit and the benchmarks read it to prove that a batch costs one call per chunk, not
        one per key. Adapters that can count should override it; 0 means "not counted".
        """
        return 0
