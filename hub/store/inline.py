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
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from sqlalchemy.pool import SingletonThreadPool

T = TypeVar("T")

#: SQLite virtual machine steps between two looks at the clock: a few microseconds of work.
_PROGRESS_STEPS = 200


class InlineReadUnavailable(Exception):
    """The read could not run on this thread now (interrupted, locked or failed): run it on the engine."""


class InlineReads:
    """Runs read-only ORM functions on a SQLite connection of the calling thread (one per thread)."""

    def __init__(self, url: URL, *, budget_seconds: float) -> None:
        self.budget_seconds = budget_seconds
        self.reads = 0
        self.handed_over = 0
        self._deadline = threading.local()
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

    def dispose(self) -> None:
        self._engine.dispose()

    def _configure(self, dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only=ON")
        dbapi_connection.set_progress_handler(self._over_budget, _PROGRESS_STEPS)

    def _start_clock(self, *_: Any) -> None:
        self._deadline.at = time.perf_counter() + self.budget_seconds

    def _over_budget(self) -> bool:
        return time.perf_counter() > getattr(self._deadline, "at", 0.0)
