"""Single-flight: concurrent loads of the same key, from any request, share one upstream call.

A caller registers the keys nobody is loading yet and starts ONE fetch for them; keys already in flight are
awaited instead. The fetch runs in its own task, so a caller that gives up (its request was cancelled or
ran out of time) does not cancel the call the others are waiting for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class FlightTimeoutError(TimeoutError):
    """The caller's own time ran out while the shared call was still running."""


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._in_flight: dict[K, asyncio.Future[V]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: How many fetches were started (what tests and benchmarks count).
        self.fetches = 0

    def in_flight(self) -> int:
        return len(self._in_flight)

    async def load(
        self,
        keys: Sequence[K],
        fetch: Callable[[list[K]], Awaitable[Sequence[V]]],
        *,
        wait_seconds: float | None = None,
    ) -> list[V | BaseException]:
        """The value of every key (aligned with ``keys``), or the exception its fetch ended with.

        ``fetch`` receives the keys this call leads and must return one value per key, in order.
        ``wait_seconds`` bounds this caller's wait only; keys still pending then get ``FlightTimeoutError``.
        """
        loop = asyncio.get_running_loop()
        waiting: dict[K, asyncio.Future[V]] = {}
        leading: list[K] = []
        for key in keys:
            if key in waiting:
                continue
            future = self._in_flight.get(key)
            if future is None:
                future = self._in_flight[key] = loop.create_future()
                leading.append(key)
            waiting[key] = future
        if leading:
            self.fetches += 1
            task = asyncio.ensure_future(self._lead(leading, fetch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        pending = {future for future in waiting.values() if not future.done()}
        if pending:
            await asyncio.wait(pending, timeout=wait_seconds)
        results: dict[K, V | BaseException] = {}
        for key, future in waiting.items():
            if not future.done():
                results[key] = FlightTimeoutError("the shared upstream call outlasted this request's time")
            elif future.cancelled():
                results[key] = asyncio.CancelledError()
            else:
                error = future.exception()
                results[key] = error if error is not None else future.result()
        return [results[key] for key in keys]

    async def _lead(self, keys: list[K], fetch: Callable[[list[K]], Awaitable[Sequence[V]]]) -> None:
        try:
            values = list(await fetch(keys))
            if len(values) != len(keys):
                raise RuntimeError(f"the fetch returned {len(values)} values for {len(keys)} keys")
        except BaseException as exc:
            for key in keys:
                future = self._in_flight.pop(key)
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
                    future.exception()  # retrieved here: waiters that gave up must not log it as lost
            if not isinstance(exc, Exception):
                raise
        else:
            for key, value in zip(keys, values, strict=True):
                self._in_flight.pop(key).set_result(value)

    async def aclose(self) -> None:
        """Cancel the fetches still running (at shutdown)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
