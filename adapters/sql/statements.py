"""SQLAlchemy statements built from an ``EntitySpec``: lightweight ``table()``/``column()`` objects, so
start-up needs no database round trip (no reflection), and identifiers are quoted by the dialect
(``"Order Details"``, ``"CustomerID"``).

Every selected value is labelled with its canonical field name; those labels are the upstream paths of the
SDK ``EntityMapping``, so ``EntityMapping.build`` does the mapping and validation of each row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeAlias

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    FromClause,
    Select,
    bindparam,
    column,
    literal,
    literal_column,
    select,
    table,
    text,
    tuple_,
)

from adapters.sdk.mapping import EntityMapping
from adapters.sdk.models import CanonicalRecord, Entity

from .spec import EntitySpec, Source, canonical_field_type
from .values import Converter, converter_for, key_text

#: Alias of a ``query:`` entity's derived table; expressions of such an entity may qualify columns with it.
QUERY_ALIAS = "src"
#: Composite external ids join their key columns' values with this separator.
KEY_SEPARATOR = ":"


#: A result row by label: SQLAlchemy's ``RowMapping``, or a plain dict from a driver read.
Row: TypeAlias = Mapping[Any, Any]

#: Result label of the ``updated_at:`` marker in a type probe.
CHANGED_AT_LABEL = "__changed_at"
#: The expanding parameter of a batch read: the keys, or the relation values, of one chunk.
_VALUES = "__values"


def key_label(position: int) -> str:
    return f"__key_{position}"


def _plain_columns(spec: EntitySpec) -> list[str]:
    names = list(spec.key)
    sources = [*spec.fields.values(), *([spec.updated_at] if spec.updated_at else [])]
    names += [source.column for source in sources if source.column is not None]
    return list(dict.fromkeys(names))


def _from_clause(spec: EntitySpec, schema: str | None) -> FromClause:
    columns: list[ColumnClause[Any]] = [column(name) for name in _plain_columns(spec)]
    if spec.table is not None:
        return table(spec.table, *columns, schema=schema)
    assert spec.query is not None
    # Backslash-escape colons: a query is SQL to pass through verbatim, not a text() with :bind parameters
    # (PostgreSQL casts such as ``total::numeric`` must survive).
    verbatim = spec.query.strip().rstrip(";").replace(":", "\\:")
    return text(verbatim).columns(*columns).subquery(QUERY_ALIAS)


@dataclass(frozen=True)
class EntityQuery:
    """The statements and row handling of one mapped entity."""

    entity: Entity
    spec: EntitySpec
    mapping: EntityMapping
    source: FromClause
    key_columns: tuple[ColumnElement[Any], ...]
    field_columns: Mapping[str, ColumnElement[Any]]
    converters: Mapping[str, Converter]
    #: The ``updated_at:`` column or expression that ``scan(since=...)`` filters on.
    changed_at: ColumnElement[Any] | None = None

    @classmethod
    def build(cls, entity: Entity, spec: EntitySpec, schema: str | None = None) -> EntityQuery:
        source = _from_clause(spec, schema)

        def element(origin: Source) -> ColumnElement[Any]:
            if origin.column is not None:
                return source.c[origin.column]
            return literal_column(f"({origin.expr})")

        fields = dict(spec.fields)
        if spec.updated_at is not None and "updated_at" not in fields:
            fields["updated_at"] = spec.updated_at  # the change marker is also the record's updated_at
        field_columns = {name: element(origin) for name, origin in fields.items()}
        mapping = EntityMapping(
            entity,
            {"external_id": "external_id", **{name: name for name in fields}},
            relations=spec.relation_fields,
            constants=dict(spec.constants),
        )
        converters = {name: converter_for(canonical_field_type(entity, name)) for name in fields}
        return cls(
            entity=entity,
            spec=spec,
            mapping=mapping,
            source=source,
            key_columns=tuple(source.c[name] for name in spec.key),
            field_columns=field_columns,
            converters=converters,
            changed_at=element(spec.updated_at) if spec.updated_at is not None else None,
        )

    # -- statements ---------------------------------------------------------------------------------

    def base_select(self) -> Select[Any]:
        """Every key column and mapped field, labelled, from the entity's table or query."""
        return self._base

    # Statements are immutable: built once per entity (and relation), run with new parameters. Building
    # one costs more CPU than SQLAlchemy's compiled-statement cache saves on a small batch.
    @cached_property
    def _base(self) -> Select[Any]:
        keys = [col.label(key_label(i)) for i, col in enumerate(self.key_columns)]
        values = [col.label(name) for name, col in self.field_columns.items()]
        return select(*keys, *values).select_from(self.source)

    @cached_property
    def _by_single_key(self) -> Select[Any]:
        return self._base.where(self.key_columns[0].in_(bindparam(_VALUES, expanding=True)))

    def lookup(self, keys: Sequence[tuple[Any, ...]]) -> tuple[Select[Any], dict[str, Any] | None]:
        """The statement reading the rows of ``keys`` (each a tuple of key column values), with its
        parameters."""
        if len(self.key_columns) == 1:
            return self._by_single_key, {_VALUES: [key[0] for key in keys]}
        return self._base.where(self.key_in(keys)), None

    def related(self, by_field: str, values: Sequence[Any]) -> tuple[Select[Any], dict[str, Any]]:
        """The statement reading the rows whose ``by_field`` is one of ``values``, in the declared order."""
        statement = self._by_field.get(by_field)
        if statement is None:
            column = self.field_columns[by_field]
            statement = self._base.where(column.in_(bindparam(_VALUES, expanding=True)))
            statement = self._by_field[by_field] = statement.order_by(*self.ordering())
        return statement, {_VALUES: list(values)}

    @cached_property
    def _by_field(self) -> dict[str, Select[Any]]:
        return {}

    def ordering(self) -> list[ColumnElement[Any]]:
        """The declared ``order_by`` (NULLs last on every dialect), then the key as a stable tie-break."""
        terms: list[ColumnElement[Any]] = []
        for term in self.spec.order_by:
            targets = self.key_columns if term.field == "external_id" else (self.field_columns[term.field],)
            for target in targets:
                terms.append(target.desc().nulls_last() if term.descending else target.asc().nulls_last())
        return [*terms, *self.key_columns]

    def key_in(self, keys: Sequence[tuple[Any, ...]]) -> ColumnElement[bool]:
        if len(self.key_columns) == 1:
            return self.key_columns[0].in_([key[0] for key in keys])
        return tuple_(*self.key_columns).in_(list(keys))

    def key_after(self, last: tuple[Any, ...]) -> ColumnElement[bool]:
        """Keyset paging: rows whose key sorts after ``last``."""
        if len(self.key_columns) == 1:
            after: ColumnElement[bool] = self.key_columns[0] > last[0]
            return after
        return tuple_(*self.key_columns) > tuple_(*(literal(value) for value in last))

    def key_not_null(self) -> list[ColumnElement[bool]]:
        return [col.is_not(None) for col in self.key_columns]

    def probe(self) -> Select[Any]:
        """A statement returning no row, whose result columns carry the types of the key columns
        (``__key_<n>``), relation fields (their names) and the ``updated_at:`` marker (``__changed_at``)."""
        keys = [col.label(key_label(i)) for i, col in enumerate(self.key_columns)]
        relations = [self.field_columns[name].label(name) for name in sorted(self.mapping.relations)]
        changed = [self.changed_at.label(CHANGED_AT_LABEL)] if self.changed_at is not None else []
        return select(*keys, *relations, *changed).select_from(self.source).limit(0)

    # -- rows ---------------------------------------------------------------------------------------

    def key_values(self, row: Row) -> tuple[Any, ...]:
        return tuple(row[key_label(i)] for i in range(len(self.key_columns)))

    def key_of(self, row: Row) -> str:
        return KEY_SEPARATOR.join(key_text(value) for value in self.key_values(row))

    def split_key(self, key: str) -> tuple[str, ...] | None:
        """The parts of an external id, ``None`` when it has the wrong number of parts. Parts are stripped
        like the ids of canonical records are (a ``CHAR(n)`` key comes back padded with blanks)."""
        width = len(self.key_columns)
        parts = tuple(part.strip() for part in key.split(KEY_SEPARATOR, width - 1))
        return parts if len(parts) == width else None

    def record(self, source: str, row: Row) -> CanonicalRecord:
        raw = {name: self.converters[name](row[name]) for name in self.field_columns}
        raw["external_id"] = self.key_of(row)
        return self.mapping.build(source, raw)
