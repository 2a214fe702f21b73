"""A SQLite file held by a writer while a read runs: for checking that a read waits for the lock off the
event loop, so the loop keeps serving everything else meanwhile."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class LockedRead(Generic[T]):
    result: T
    #: How long the read took, in seconds.
    waited: float
    #: How often a task sleeping 10 ms at a time woke up meanwhile.
    loop_ticks: int


async def read_while_locked(
    path: Path, update: str, read: Callable[[], Awaitable[T]], *, hold_seconds: float = 0.3
) -> LockedRead[T]:
    """Run ``read`` while a writer holds ``path`` in an exclusive transaction that applies ``update`` and
    commits after ``hold_seconds``. The file is switched to a rollback journal first: in WAL mode readers
    never wait for a writer."""
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("PRAGMA journal_mode=DELETE")
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute(update)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    threading.Timer(hold_seconds, lambda: (writer.execute("COMMIT"), writer.close())).start()
    try:
        started = time.perf_counter()
        result = await read()
        waited = time.perf_counter() - started
    finally:
        ticker.cancel()
    return LockedRead(result, waited, ticks)
