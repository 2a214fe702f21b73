"""``COUNT`` / ``SUM ... GROUP BY`` statements: the SQL push-down of ``Adapter.aggregate_related``.

One statement per chunk of relation values returns one row per (value, group), so a bulk read of a page of
customers with their order totals per currency reads a few hundred rows, not every order.

Sums are exact. PostgreSQL sums ``NUMERIC``. SQLite keeps ``NUMERIC`` values as binary doubles, so a plain
``SUM`` would drift (0.1 + 0.2); each value is instead rounded to units of 1/10,000 and those whole units
are summed, which is exact to four decimal places for totals up to 900 billion (2**53 units).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Float,
    Numeric,
    Select,
    bindparam,
    cast,
    func,
    literal,
    select,
)

from adapters.sdk.aggregate import Aggregate, AggregateValue, GroupValue, Measure, field_type

from .statements import EntityQuery, Row
from .values import key_text

#: SQLite sums whole units of 10**-SQLITE_SUM_DECIMALS (see the module docstring).
SQLITE_SUM_DECIMALS = 4
_BY_LABEL = "__by"
_VALUES = "relation_values"


def _group_label(position: int) -> str:
    return f"__group_{position}"


def _measure_label(position: int) -> str:
    return f"__measure_{position}"


@dataclass(frozen=True)
class AggregateStatement:
    query: EntityQuery
    by_column: ColumnElement[Any]
    measures: tuple[Measure, ...]
    #: Per group field: the column or expression grouped by, or ``None`` when a constant fills the field.
    group_columns: tuple[ColumnElement[Any] | None, ...]
    group_names: tuple[str, ...]
    dialect: str

    @classmethod
    def build(
        cls,
        query: EntityQuery,
        by_field: str,
        measures: Sequence[Measure],
        group_by: Sequence[str],
        dialect: str,
    ) -> AggregateStatement | None:
        """The statement, or ``None`` when SQL cannot express it (a sum of a field only a constant fills):
        the caller then aggregates ``find_related`` records instead."""
        constants: Mapping[str, Any] = query.spec.constants
        if any(m.field is not None and m.field not in query.field_columns for m in measures):
            return None
        groups: list[ColumnElement[Any] | None] = []
        for name in group_by:
            column = query.field_columns.get(name)
            if column is not None and name in constants:
                # A mapped value wins over the constant, which only fills empty values (EntityMapping.build).
                column = func.coalesce(column, literal(constants[name]))
            groups.append(column)
        return cls(
            query=query,
            by_column=query.field_columns[by_field],
            measures=tuple(measures),
            group_columns=tuple(groups),
            group_names=tuple(group_by),
            dialect=dialect,
        )

    def _measure(self, measure: Measure) -> ColumnElement[Any]:
        if measure.field is None:
            return func.count()
        column = self.query.field_columns[measure.field]
        if self.dialect == "sqlite":
            return func.sum(func.round(cast(column, Float) * 10**SQLITE_SUM_DECIMALS))
        return func.sum(cast(column, Numeric))

    @cached_property
    def select_values(self) -> Select[Any]:
        """The statement for any values: an expanding parameter, bound per run by ``parameters``. Built
        once, so a run does not coerce thousands of values into SQL expressions again."""
        return self.select(bindparam(_VALUES, expanding=True))

    @staticmethod
    def parameters(values: Sequence[Any]) -> dict[str, Any]:
        return {_VALUES: list(values)}

    def select(self, values: Sequence[Any] | BindParameter[Any]) -> Select[Any]:
        grouped = [column for column in self.group_columns if column is not None]
        labelled = [
            column.label(_group_label(i)) for i, column in enumerate(self.group_columns) if column is not None
        ]
        measured = [self._measure(m).label(_measure_label(i)) for i, m in enumerate(self.measures)]
        return (
            select(self.by_column.label(_BY_LABEL), *labelled, *measured)
            .select_from(self.query.source)
            .where(self.by_column.in_(values))
            .group_by(self.by_column, *grouped)
        )

    def read(self, rows: Sequence[Row]) -> Iterator[tuple[str, Aggregate]]:
        """(relation value as text, its aggregate) per row."""
        # Column by column: a bulk read turns thousands of rows per statement, and one comprehension per
        # column costs far less than a handful of calls per row.
        keys = [key_text(row[_BY_LABEL]) for row in rows]
        group_columns = [self._group_column(position, rows) for position in range(len(self.group_names))]
        groups: Iterable[tuple[GroupValue, ...]] = (
            zip(*group_columns, strict=True) if group_columns else [()] * len(rows)
        )
        measure_columns = [self._measure_column(position, rows) for position in range(len(self.measures))]
        values = zip(*measure_columns, strict=True)
        return zip(keys, map(Aggregate, groups, values), strict=True)

    def _group_column(self, position: int, rows: Sequence[Row]) -> list[GroupValue]:
        name = self.group_names[position]
        if self.group_columns[position] is None:
            constant = self.query.spec.constants.get(name)
            return [None if constant is None else str(constant).strip()] * len(rows)
        convert, label = self.query.converters[name], _group_label(position)
        # Canonical text fields are stripped (a CHAR(3) currency comes back padded on PostgreSQL).
        return [
            raw.strip() if type(raw) is str else None if raw is None else str(convert(raw)).strip()
            for raw in [row[label] for row in rows]
        ]

    def _measure_column(self, position: int, rows: Sequence[Row]) -> list[AggregateValue]:
        measure, label = self.measures[position], _measure_label(position)
        raws = [row[label] for row in rows]
        if measure.field is None:
            return [int(raw) for raw in raws]
        if self.dialect == "sqlite":
            totals = [
                None if raw is None else Decimal(round(raw)).scaleb(-SQLITE_SUM_DECIMALS) for raw in raws
            ]
        else:
            totals = [None if raw is None else Decimal(raw) for raw in raws]
        if field_type(self.query.entity, measure.field) is int:
            return [None if total is None else int(total) for total in totals]
        return list(totals)
