"""Short reads of the hub's own SQLite file on the event loop's thread, within a time budget.

Every statement through SQLAlchemy's aiosqlite adaptation goes to the connection's thread and back several
times, and each way back waits for the event loop: a customer-and-links lookup costs ~0.8 ms of which the
query is a small part, and every customer 360 waits for it before any silo is asked. So a read-only ORM
function is first run here, with a synchronous ``Session`` on a plain ``sqlite3`` connection of the calling
thread, and handed back to the caller the moment it cannot finish at once:

- a progress handler interrupts a statement once it has run ``budget_seconds`` (the loop is held at most
  that long per statement, plus a few SQLite steps);
- the busy timeout is 0, so a database locked by a writer fails at once instead of holding the loop;
- connections are ``query_only``, so a function that writes fails instead of writing.

Any database error raises ``InlineReadUnavailable``; the caller then runs the same function on the async
engine (``Database.read``), which waits for locks and reports errors as usual. Session hooks registered on
``Session`` (the access scope's criteria) apply here as everywhere else.

``select_rows`` goes one step further for the hottest lookups: a Core SELECT compiled once
(``CompiledSelect``) runs straight on the driver's connection. After an idle wait, as before every
customer 360, a short lookup through a ``Session`` costs about 1.2 ms here, nearly all of it
SQLAlchemy's execution machinery around a query SQLite answers in tens of microseconds; compiled once,
the same lookup costs about 0.6 ms. No session hook runs on that path, so callers use it only where
none would apply.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, TextualSelect, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.pool import SingletonThreadPool

T = TypeVar("T")

#: SQLite virtual machine steps between two looks at the clock: a few microseconds of work.
_PROGRESS_STEPS = 200


class InlineReadUnavailable(Exception):
    """The read could not run on this thread now (interrupted, locked or failed): run it on the engine."""


#: IN-list lengths whose statement text is kept (a lookup batch rarely has more keys).
_CACHED_LENGTHS = 1000


class CompiledSelect:
    """A Core SELECT with one expanding parameter (an IN list), compiled once for SQLite: its text per list
    length, and the result processors SQLAlchemy applies to its columns (dates, booleans), so the rows
    are the values the engine would give."""

    def __init__(self, statement: Select[Any] | TextualSelect, dialect: Dialect, *, expanding: str) -> None:
        self.statement = statement
        self._compiled = statement.compile(dialect=dialect)
        if set(self._compiled.binds) != {expanding}:
            raise ValueError(f"the statement must have exactly one parameter, the IN list {expanding!r}")
        self._expanding = expanding
        self._texts: dict[int, str] = {}
        processors = (
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        )
        self._processors = [(i, p) for i, p in enumerate(processors) if p is not None]

    def text(self, length: int) -> str:
        text = self._texts.get(length)
        if text is None:
            # Only the count matters here: the values are bound when the statement runs.
            text = self._compiled.construct_expanded_state({self._expanding: [None] * length}).statement
            if length <= _CACHED_LENGTHS:
                self._texts[length] = text
        return text

    def processed(self, rows: list[Any]) -> list[tuple[Any, ...]]:
        if not self._processors:
            return [tuple(row) for row in rows]
        result = []
        for row in rows:
            values = list(row)
            for index, process in self._processors:
                values[index] = process(values[index])
            result.append(tuple(values))
        return result


class InlineReads:
    """Runs read-only ORM functions on a SQLite connection of the calling thread (one per thread)."""

    def __init__(self, url: URL, *, budget_seconds: float) -> None:
        self.budget_seconds = budget_seconds
        self.reads = 0
        self.handed_over = 0
        self._deadline = threading.local()
        self._compiled: dict[int, CompiledSelect] = {}
        self._engine: Engine = create_engine(
            url.set(drivername="sqlite"),
            poolclass=SingletonThreadPool,
            # The busy timeout is 0; dispose() may close a connection from another thread.
            connect_args={"timeout": 0, "check_same_thread": False},
        )
        event.listen(self._engine, "connect", self._configure)
        # The budget is per statement: compiling an ORM statement is work the async path does on this
        # thread too; SQLite's own time is what running here adds.
        event.listen(self._engine, "before_cursor_execute", self._start_clock)

    def run(self, read: Callable[[Session], T]) -> T:
        """``read(session)``, or ``InlineReadUnavailable``. ``read`` must only read: it may run twice."""
        try:
            with Session(self._engine, expire_on_commit=False) as session:
                result = read(session)
        except sa_exc.DBAPIError as exc:
            self.handed_over += 1
            raise InlineReadUnavailable(type(exc.orig).__name__) from None
        self.reads += 1
        return result

    def compiled(self, statement: Select[Any] | TextualSelect, *, expanding: str) -> CompiledSelect:
        """``statement`` compiled for this connection; compiled once, for as long as the statement lives."""
        query = self._compiled.get(id(statement))
        if query is None or query.statement is not statement:
            query = CompiledSelect(statement, self._engine.dialect, expanding=expanding)
            self._compiled[id(statement)] = query
        return query

    def select_rows(self, query: CompiledSelect, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows of ``query`` for the IN list ``values``, or ``InlineReadUnavailable``; no session, so
        no session hook (the access scope) applies."""
        connection = self._engine.raw_connection()
        driver: sqlite3.Connection | None = connection.driver_connection
        try:
            if driver is None:  # a pooled connection that was invalidated
                raise sqlite3.InterfaceError("no connection")
            self._start_clock()
            rows = driver.execute(query.text(len(values)), tuple(values)).fetchall()
        except sqlite3.Error as exc:
            self.handed_over += 1
            raise InlineReadUnavailable(type(exc).__name__) from None
        finally:
            connection.close()
        self.reads += 1
        return query.processed(rows)

    def dispose(self) -> None:
        self._engine.dispose()

    def _configure(self, dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only=ON")
        dbapi_connection.set_progress_handler(self._over_budget, _PROGRESS_STEPS)

    def _start_clock(self, *_: Any) -> None:
        self._deadline.at = time.perf_counter() + self.budget_seconds

    def _over_budget(self) -> bool:
        return time.perf_counter() > getattr(self._deadline, "at", 0.0)
