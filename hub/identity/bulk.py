"""Bulk writes of many rows at once: one compiled statement, one ``executemany`` per batch.

A full run writes a row per silo record (and one per link and customer): at 100k records, SQLAlchemy's
per-row parameter processing (building each parameter set, encoding JSON with the standard library,
formatting datetimes) costs several times what the database needs to store them. Here a statement is
compiled once for the dialect, each column's bind processor is looked up once, JSON goes through orjson,
the run's timestamp is processed once, and the rows reach the driver as plain tuples. The values stored are
those a Core ``insert()``/``update()`` would store (JSON written more compactly). Columns with a Python-side
default or ``onupdate`` the rows leave out are only filled by Core, so such rows take the Core path.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Table, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.sql.sqltypes import JSON
from sqlalchemy.types import TypeEngine

_BATCH = 5000

Processor = Callable[[Any], Any]
_NOTHING = object()


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A statement compiled for one dialect, with the parameter names in the order the driver wants."""

    sql: str
    names: tuple[str, ...]
    positional: bool
    processors: tuple[Processor | None, ...]

    def parameters(self, rows: Sequence[dict[str, Any]]) -> list[Any]:
        if not rows:
            return []
        pick = operator.itemgetter(*self.names)
        picked: list[Any] = [pick(row) for row in rows]
        if len(self.names) == 1:
            picked = [(value,) for value in picked]
        if any(self.processors):
            columns = list(zip(*picked, strict=True))
            for position, processor in enumerate(self.processors):
                if processor is not None:
                    columns[position] = tuple(map(processor, columns[position]))
            picked = list(zip(*columns, strict=True))
        if self.positional:
            return picked
        return [dict(zip(self.names, values, strict=True)) for values in picked]


def _json_encoder(dialect: Dialect, processor: Processor) -> Processor:
    """orjson for a JSON column when the dialect hands the driver JSON text and no custom serializer is
    configured (the same document, written more compactly); the dialect's own processor otherwise."""
    if getattr(dialect, "_json_serializer", None) is not None or not isinstance(processor({"k": 1}), str):
        return processor

    def encode(value: Any) -> str:
        return orjson.dumps(value).decode()

    return encode


def _reusing_last(processor: Processor) -> Processor:
    """The same object in consecutive rows (the run's timestamp on every row) is processed once."""
    last: list[Any] = [_NOTHING, None]

    def process(value: Any) -> Any:
        if value is last[0]:
            return last[1]
        result = processor(value)
        last[0], last[1] = value, result
        return result

    return process


def _processor(type_: TypeEngine[Any], dialect: Dialect) -> Processor | None:
    implementation = type_.dialect_impl(dialect)
    processor = implementation.bind_processor(dialect)
    if processor is None:
        return None
    if isinstance(type_, JSON) or isinstance(implementation, JSON):
        return _json_encoder(dialect, processor)
    return _reusing_last(processor)


def _prepare(statement: ClauseElement, dialect: Dialect, column_keys: Sequence[str]) -> _Prepared:
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(column_keys), for_executemany=True)
    names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
    processors = tuple(_processor(compiled.binds[name].type, dialect) for name in names)
    return _Prepared(str(compiled), names, bool(compiled.positional), processors)


def _by_columns(
    rows: Iterable[dict[str, Any]], skip: str = ""
) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Rows grouped by the columns they set (rows built alike list their keys in the same order)."""
    grouped: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(tuple(row), []).append(row)
    if not skip:
        return grouped
    merged: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for columns, group in grouped.items():
        merged.setdefault(tuple(k for k in columns if k != skip), []).extend(group)
    return merged


def _lacks_defaults(table: Table, columns: Sequence[str], *, update: bool = False) -> bool:
    """Whether a column the rows leave out has a Python-side default for this statement (only Core applies
    those)."""
    given = set(columns)
    return any(
        (c.onupdate if update else c.default) is not None and c.key not in given for c in table.columns
    )


async def _execute(connection: AsyncConnection, prepared: _Prepared, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _BATCH):
        await connection.exec_driver_sql(prepared.sql, prepared.parameters(rows[start : start + _BATCH]))


async def bulk_insert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``INSERT`` every row (dicts of column values)."""
    if not rows:
        return
    connection = await session.connection()
    for columns, group in _by_columns(rows).items():
        if _lacks_defaults(table, columns):
            for start in range(0, len(group), _BATCH):
                await session.execute(table.insert(), group[start : start + _BATCH])
            continue
        prepared = _prepare(table.insert(), connection.dialect, columns)
        await _execute(connection, prepared, group)


async def bulk_update(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``UPDATE table SET ... WHERE id = :id`` for each row (one statement per set of columns set)."""
    if not rows:
        return
    connection = await session.connection()
    for columns, group in _by_columns(rows, skip="id").items():
        parameters = [{"_id": row["id"], **{name: row[name] for name in columns}} for row in group]
        statement = (
            table.update()
            .where(table.c.id == bindparam("_id"))
            .values({name: bindparam(name) for name in columns})
        )
        if _lacks_defaults(table, columns, update=True):
            for start in range(0, len(parameters), _BATCH):
                await session.execute(statement, parameters[start : start + _BATCH])
            continue
        await _execute(connection, _prepare(statement, connection.dialect, columns), parameters)
