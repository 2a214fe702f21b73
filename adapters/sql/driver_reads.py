"""SQLite batch reads straight through aiosqlite: one hop to the connection's thread per statement.

SQLAlchemy's asyncio adaptation of aiosqlite goes to the connection's thread four times per statement (open
a cursor, execute, fetch, close), and every hop back waits for the event loop to come round. When a customer
360's ten silo answers land at once, those waits put the ERP's reads last. The adapter's batch reads by key
and by relation are built once per entity, so they are compiled once here and then run with aiosqlite's
``execute_fetchall``: statement and rows in one hop.

Only statements SQLAlchemy would pass through untouched qualify: no result or bind type processing (the
mapping's columns are untyped; the adapter converts values itself), positional parameters, distinct labels.
Anything else returns ``None`` from ``DriverRead.compile`` and runs through SQLAlchemy as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True, slots=True)
class DriverRead:
    """One compiled ``SELECT`` and the labels of its result columns."""

    compiled: SQLCompiler
    labels: tuple[str, ...]

    @classmethod
    def compile(cls, statement: Select[Any], dialect: Dialect) -> DriverRead | None:
        """The statement compiled for ``dialect``, or ``None`` when only SQLAlchemy can run it faithfully."""
        if dialect.paramstyle != "qmark":
            return None
        columns = list(statement.selected_columns)
        labels = tuple(str(column.key) for column in columns)
        if len(set(labels)) != len(labels):
            return None
        if any(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns):
            return None
        compiled = statement.compile(dialect=dialect)
        if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
            return None
        if any(bind.type.dialect_impl(dialect).bind_processor(dialect) for bind in compiled.binds.values()):
            return None
        return cls(compiled, labels)

    async def fetch(self, driver: Any, parameters: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        """Rows of the statement with ``parameters`` (expanding ``IN`` lists included), as label -> value.

        ``driver`` is the pooled connection's aiosqlite ``Connection``.
        """
        state = self.compiled.construct_expanded_state(parameters)
        return self.rows(await driver.execute_fetchall(state.statement, state.positional_parameters))

    def rows(self, rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
        """The driver's rows as label -> value."""
        labels = self.labels
        return [dict(zip(labels, row, strict=True)) for row in rows]


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` from a driver read means the pooled connection is closed for good."""
    if isinstance(error, ValueError) and str(error) == "Connection closed":  # aiosqlite's thread has stopped
        return True
    return isinstance(error, sqlite3.ProgrammingError) and "closed database" in str(error)
