"""Declared entity mappings: which upstream field feeds which canonical field.

A mapping is data, not code: an adapter declares ``EntityMapping`` objects (or reads them from YAML) and
``EntityMapping.build`` turns a raw upstream record into a validated canonical record.
Canonical field names may be dotted (``address.city``) to fill nested models; upstream paths may be dotted
(``BillAddr.City``) to reach into nested JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .errors import RecordValidationError
from .models import MODELS, CanonicalRecord, Entity
from .types import RawRecord

_MISSING = object()


def read_path(raw: RawRecord, path: str) -> Any:
    """Read ``a.b.c`` from nested mappings; a missing step gives ``None`` (upstreams omit empty fields).

    A numeric step indexes a list (``domain_names.0``: the first domain), so lists of values can feed a
    single canonical field without code.
    """
    if path in raw:
        return raw[path]
    value: Any = raw
    for step in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(step, _MISSING)
        elif isinstance(value, list | tuple) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
        if value is _MISSING:
            return None
    return value


def _assign(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = target
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


@dataclass(frozen=True)
class EntityMapping:
    """How one upstream collection maps onto one canonical entity.

    ``fields`` maps canonical field -> upstream path and must name ``external_id``.
    ``relations`` lists the canonical fields ``find_related`` may filter on (e.g. ``customer_external_id``).
    ``constants`` fills canonical fields with fixed values (e.g. a currency the upstream never states).
    """

    entity: Entity
    fields: Mapping[str, str]
    relations: frozenset[str] = frozenset()
    constants: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "external_id" not in self.fields:
            raise ValueError(f"mapping for {self.entity.value!r} must map 'external_id'")
        model_fields = MODELS[self.entity].model_fields
        for name in (*self.fields, *self.constants):
            root = name.split(".", 1)[0]
            if root not in model_fields or root in ("entity", "source"):
                raise ValueError(f"mapping for {self.entity.value!r}: unknown canonical field {name!r}")
        for name in self.relations:
            if name not in self.fields:
                raise ValueError(f"mapping for {self.entity.value!r}: relation {name!r} is not mapped")
        # Split once here, not per record: every record of every read goes through ``build``.
        object.__setattr__(self, "_flat", tuple((n, p) for n, p in self.fields.items() if "." not in n))
        object.__setattr__(self, "_nested", tuple((n, p) for n, p in self.fields.items() if "." in n))

    @property
    def model(self) -> type[CanonicalRecord]:
        return MODELS[self.entity]

    def build(self, source: str, raw: RawRecord) -> CanonicalRecord:
        """Map and validate one raw record; a record that does not fit raises ``RecordValidationError``."""
        values: dict[str, Any] = {"source": source}
        for name, value in self.constants.items():
            _assign(values, name, value)
        flat: tuple[tuple[str, str], ...] = self._flat  # type: ignore[attr-defined]
        nested: tuple[tuple[str, str], ...] = self._nested  # type: ignore[attr-defined]
        for name, path in flat:
            value = raw[path] if path in raw else read_path(raw, path)
            if value is not None:
                values[name] = value
        for name, path in nested:
            value = raw[path] if path in raw else read_path(raw, path)
            if value is not None:
                _assign(values, name, value)
        try:
            return self.model.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
            )
            key = values.get("external_id", "?")
            raise RecordValidationError(
                f"record {key!r} does not fit {self.entity.value}: {problems}",
                source=source,
                entity=self.entity.value,
            ) from None
