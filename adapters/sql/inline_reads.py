"""Short SQLite batch reads on the event loop's own thread, within a time budget.

A SQLite read of a few rows takes tens of microseconds; getting it to an aiosqlite connection's thread and
back takes two thread switches, and the switch back waits for the event loop. When a customer 360's silo
answers land together, those waits put the SQLite source last (see ``driver_reads``). So a read with few
parameters is first tried here, on a connection of the loop's thread, and left to the pool's thread the
moment it cannot finish at once:

- SQLite calls a progress handler every few hundred VM steps; past ``budget_seconds`` it interrupts the
  statement (the loop is held at most that long, plus one step);
- the busy timeout is 0: a database locked by a writer answers "database is locked" at once instead of
  holding the loop while it waits;
- any other SQLite error also hands the read over, so the pool's path reports it the one way it always has.

A read handed over costs the time it ran here (at most the budget), nothing else: it runs again on the pool.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import URL, Dialect

from .driver_reads import DriverRead

#: SQLite virtual machine steps between two looks at the clock: a few microseconds of work.
_PROGRESS_STEPS = 200
#: How long a read interrupted over budget goes straight to the pool before it is tried here again.
TOO_SLOW_FOR_SECONDS = 60.0


class InlineReader:
    """Runs compiled batch reads on one SQLite connection owned by the thread that first uses it.

    ``fetch`` returns the rows, or ``None`` when the read must go to the connection pool instead. Counters:
    ``reads`` answered here and ``handed_over`` (interrupted, locked or failed here).
    """

    def __init__(
        self,
        url: URL,
        dialect: Dialect,
        *,
        budget_seconds: float,
        max_parameters: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # The arguments the pool's connections are opened with (file URI, mode), so both see one database.
        args, kwargs = dialect.create_connect_args(url)
        # Autocommit (each read sees the latest commit); closing may happen on another thread.
        options = {"timeout": 0, "check_same_thread": False, "isolation_level": None}
        self._connect_args: tuple[tuple[Any, ...], dict[str, Any]] = (tuple(args), {**kwargs, **options})
        self.budget_seconds = budget_seconds
        self.max_parameters = max_parameters
        self.reads = 0
        self.handed_over = 0
        self._connection: sqlite3.Connection | None = None
        self._thread: int | None = None
        self._deadline = 0.0
        self._clock = clock
        #: Reads interrupted over budget: from how many parameters they are not tried here, and until when.
        self._too_slow: dict[DriverRead, tuple[int, float]] = {}

    def fetch(self, read: DriverRead, parameters: Mapping[str, Any] | None) -> list[dict[str, Any]] | None:
        """The rows of ``read``, or ``None``: too many parameters, another thread, over budget, or failed."""
        state = read.compiled.construct_expanded_state(parameters)
        values: Sequence[Any] = state.positional_parameters
        if len(values) > self.max_parameters or self._known_too_slow(read, len(values)):
            return None
        connection = self._own_connection()
        if connection is None:
            return None
        self._deadline = time.perf_counter() + self.budget_seconds
        try:
            rows = connection.execute(state.statement, values).fetchall()
        except sqlite3.Error as exc:
            # Interrupted, locked, or an error the pool's path will report in full.
            self.handed_over += 1
            if str(exc) == "interrupted":
                # More keys mean more work: this statement with as many keys or more goes to the pool for a
                # while (a cold page cache or a busy disk passes).
                known = self._too_slow.get(read)
                fewest = len(values) if known is None else min(len(values), known[0])
                self._too_slow[read] = (fewest, self._clock() + TOO_SLOW_FOR_SECONDS)
            return None
        self.reads += 1
        return read.rows(rows)

    def _known_too_slow(self, read: DriverRead, parameters: int) -> bool:
        known = self._too_slow.get(read)
        if known is None:
            return False
        if self._clock() >= known[1]:
            del self._too_slow[read]
            return False
        return parameters >= known[0]

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _own_connection(self) -> sqlite3.Connection | None:
        thread = threading.get_ident()
        if self._connection is not None:
            return self._connection if thread == self._thread else None
        args, kwargs = self._connect_args
        try:
            connection: sqlite3.Connection = sqlite3.connect(*args, **kwargs)
            connection.execute("PRAGMA query_only=ON")
        except sqlite3.Error:
            # A missing or unreadable file: the pool's path reports it.
            return None
        connection.set_progress_handler(self._over_budget, _PROGRESS_STEPS)
        self._connection, self._thread = connection, thread
        return connection

    def _over_budget(self) -> bool:
        return time.perf_counter() > self._deadline
