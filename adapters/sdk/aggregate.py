"""Aggregates of related records, for bulk reads that need totals rather than the records themselves.

``Adapter.aggregate_related`` answers "for each of these customers: how many orders, and what total per
currency" for a whole page of customers at once. The default implementation reads the records with
``find_related`` and aggregates them here, in Python; an adapter that can push the work down (``COUNT`` /
``SUM ... GROUP BY`` in SQL) overrides it, so the upstream sends one row per group instead of one per record.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple, TypeAlias, Union, get_args, get_origin

from pydantic import BaseModel

from .errors import UnsupportedEntityError
from .mapping import EntityMapping
from .models import MODELS, CanonicalRecord, Entity

#: A measure's result: a count, or a sum (``Decimal`` for money fields, ``int`` for integer fields; ``None``
#: when every summed value of the group is empty, as SQL's ``SUM`` says).
AggregateValue: TypeAlias = int | Decimal | None
#: The text of one ``group_by`` field in one group (``None`` for records without a value).
GroupValue: TypeAlias = str | None


class MeasureKind(StrEnum):
    COUNT = "count"
    SUM = "sum"


@dataclass(frozen=True, slots=True)
class Measure:
    """What to compute per group: ``Measure.count()`` or ``Measure.sum("total")``."""

    kind: MeasureKind
    field: str | None = None

    def __post_init__(self) -> None:
        if self.kind is MeasureKind.COUNT and self.field is not None:
            raise ValueError("a count measure counts records and takes no field")
        if self.kind is MeasureKind.SUM and not self.field:
            raise ValueError("a sum measure needs the canonical field to sum")

    @classmethod
    def count(cls) -> Measure:
        return cls(MeasureKind.COUNT)

    @classmethod
    def sum(cls, field: str) -> Measure:
        return cls(MeasureKind.SUM, field)

    @property
    def label(self) -> str:
        return "count" if self.field is None else f"{self.kind.value}({self.field})"


class Aggregate(NamedTuple):
    """One group of the records related to one value: its ``group_by`` values and each measure's result,
    aligned with the ``group_by`` and ``measures`` arguments of the call."""

    # A named tuple, not a frozen dataclass: bulk reads build one per group and row, and a tuple is made
    # in a fraction of the time.
    group: tuple[GroupValue, ...]
    values: tuple[AggregateValue, ...]


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def field_type(entity: Entity, dotted: str) -> Any:
    """The (non-optional) type of a possibly nested canonical field; ``None`` when there is no such field."""
    model: Any = MODELS[entity]
    annotation: Any = None
    for part in dotted.split("."):
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        annotation = _unwrap_optional(model.model_fields[part].annotation)
        model = annotation
    return annotation


def check_aggregate(
    mapping: EntityMapping, measures: Sequence[Measure], group_by: Sequence[str], *, source: str
) -> None:
    """Raise ``UnsupportedEntityError`` unless every measure and group field is one the mapping provides:
    groups on text fields, sums on number fields."""
    entity = mapping.entity

    def unsupported(message: str) -> UnsupportedEntityError:
        return UnsupportedEntityError(message, source=source, entity=entity.value)

    if not measures:
        raise unsupported("an aggregate needs at least one measure")
    provided = {*mapping.fields, *mapping.constants}
    for name in group_by:
        if name not in provided:
            raise unsupported(f"cannot group {entity.value} by {name!r}: the field is not mapped")
        if field_type(entity, name) is not str:
            raise unsupported(f"cannot group {entity.value} by {name!r}: only text fields can be grouped by")
    for measure in measures:
        if measure.field is None:
            continue
        if measure.field not in provided:
            raise unsupported(f"cannot {measure.label} of {entity.value}: the field is not mapped")
        if field_type(entity, measure.field) not in (Decimal, int):
            raise unsupported(f"cannot {measure.label} of {entity.value}: not a number field")


def read_field(record: CanonicalRecord, dotted: str) -> Any:
    """``address.country`` of a record (``None`` when a step is empty)."""
    value: Any = record
    for part in dotted.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def group_order(group: tuple[GroupValue, ...]) -> tuple[tuple[bool, str], ...]:
    """Sort key of groups: by their values, empty values last."""
    if len(group) == 1:  # the common case, without a generator: bulk reads sort a group list per value
        (value,) = group
        return ((value is None, value or ""),)
    return tuple((value is None, value or "") for value in group)


def aggregate_records(
    records: Sequence[CanonicalRecord], measures: Sequence[Measure], group_by: Sequence[str] = ()
) -> list[Aggregate]:
    """Aggregate already-read records: one ``Aggregate`` per group, sorted by group; ``[]`` for no records."""
    totals: dict[tuple[GroupValue, ...], list[AggregateValue]] = {}
    for record in records:
        group = tuple(_group_text(read_field(record, name)) for name in group_by)
        values = totals.get(group)
        if values is None:
            values = totals[group] = [0 if m.kind is MeasureKind.COUNT else None for m in measures]
        for position, measure in enumerate(measures):
            if measure.field is None:
                values[position] = _add(values[position], 1)
            else:
                values[position] = _add(values[position], read_field(record, measure.field))
    return [Aggregate(group, tuple(totals[group])) for group in sorted(totals, key=group_order)]


def merge_aggregates(groups: Sequence[Aggregate]) -> list[Aggregate]:
    """Combine aggregates of the same group (e.g. from several upstream chunks), sorted by group."""
    if len(groups) == 1:
        return [groups[0]]
    if len(groups) == 2 and groups[0].group != groups[1].group:  # the common case: only sort
        first, second = groups
        return [first, second] if group_order(first.group) <= group_order(second.group) else [second, first]
    merged: dict[tuple[GroupValue, ...], list[AggregateValue]] = {}
    for aggregate in groups:
        values = merged.get(aggregate.group)
        if values is None:
            merged[aggregate.group] = list(aggregate.values)
            continue
        for position, value in enumerate(aggregate.values):
            values[position] = _add(values[position], value)
    return [Aggregate(group, tuple(merged[group])) for group in sorted(merged, key=group_order)]


def _group_text(value: Any) -> GroupValue:
    return None if value is None else str(value)


def _add(total: AggregateValue, value: Any) -> AggregateValue:
    if value is None:
        return total
    if total is None:
        return value if isinstance(value, int | Decimal) else Decimal(str(value))
    return total + value  # type: ignore[no-any-return]
