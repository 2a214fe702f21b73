"""A circuit breaker per source, written for asyncio.

Closed: calls go through; a failure streak of ``failure_threshold``, or a failure rate of ``failure_rate``
over the last ``window`` calls (once ``min_calls`` were made), opens it. Open: calls fail at once with
``CircuitOpenError`` until ``cooldown_seconds`` have passed. Half-open: ONE probe call goes through (the
others still fail fast); its success closes the breaker, its failure opens it for another cool-down.

Calls take a ``Permit`` and report how they ended, so a probe that was cancelled or ended with an error
that says nothing about the source (a deadline, a record that does not validate) frees the probe slot
without moving the breaker.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .config import BreakerSettings
from .errors import CircuitOpenError


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


#: Gauge values of the states (Prometheus has no enums).
STATE_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


@dataclass(frozen=True, slots=True)
class Permit:
    probe: bool
    generation: int


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        settings: BreakerSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, BreakerState], None] | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._consecutive = 0
        self._recent: deque[bool] = deque(maxlen=settings.window)  # True = failed
        self._opened_at = 0.0
        self._probing = False
        # Outcomes of calls that started before the last transition belong to an old era: ignored.
        self._generation = 0
        self.opened_reason: str | None = None
        #: Told of the transitions this breaker's own calls decide (opening on failures, closing on a
        #: successful probe), not of those it adopts from elsewhere or makes as time passes.
        self.on_decided: Callable[[CircuitBreaker, BreakerState], None] | None = None

    @property
    def state(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.settings.cooldown_seconds
        ):
            self._move(BreakerState.HALF_OPEN)
        return self._state

    def retry_in(self) -> float:
        if self._state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.settings.cooldown_seconds - (self._clock() - self._opened_at))

    def _move(self, state: BreakerState) -> None:
        if state is self._state:
            return
        self._state = state
        self._generation += 1
        self._probing = False
        if state is BreakerState.OPEN:
            self._opened_at = self._clock()
        else:
            self.opened_reason = None if state is BreakerState.CLOSED else self.opened_reason
        if state is BreakerState.CLOSED:
            self._consecutive = 0
            self._recent.clear()
        if self._on_change is not None:
            self._on_change(self.name, state)

    def acquire(self, entity: str | None = None) -> Permit:
        """A permit for one call, or ``CircuitOpenError`` when the breaker rejects it."""
        state = self.state
        if state is BreakerState.CLOSED:
            return Permit(probe=False, generation=self._generation)
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return Permit(probe=True, generation=self._generation)
        if state is BreakerState.HALF_OPEN:
            message, retry_in = "the circuit is half-open and a probe call is already testing the source", 0.0
        else:
            retry_in = self.retry_in()
            reason = f" ({self.opened_reason})" if self.opened_reason else ""
            message = f"the circuit is open{reason}; the source is not called for another {retry_in:.1f} s"
        raise CircuitOpenError(message, retry_in=retry_in, source=self.name, entity=entity)

    def succeeded(self, permit: Permit) -> None:
        if permit.generation != self._generation:
            return
        if permit.probe:
            self._move(BreakerState.CLOSED)
            self._decided(BreakerState.CLOSED)
            return
        self._consecutive = 0
        self._recent.append(False)

    def failed(self, permit: Permit) -> None:
        if permit.generation != self._generation:
            return
        if permit.probe:
            self._open("the probe call failed")
            return
        self._consecutive += 1
        self._recent.append(True)
        settings = self.settings
        if self._consecutive >= settings.failure_threshold:
            self._open(f"{self._consecutive} consecutive failures")
            return
        if settings.failure_rate is not None and len(self._recent) >= settings.min_calls:
            rate = sum(self._recent) / len(self._recent)
            if rate >= settings.failure_rate:
                self._open(f"{rate:.0%} of the last {len(self._recent)} calls failed")

    def _open(self, reason: str) -> None:
        self.opened_reason = reason
        self._move(BreakerState.OPEN)
        self._decided(BreakerState.OPEN)

    def _decided(self, state: BreakerState) -> None:
        if self.on_decided is not None:
            self.on_decided(self, state)

    def adopt_open(self, reason: str, retry_in: float) -> None:
        """Open for ``retry_in`` more seconds (at most a cool-down) because the breaker of another hub
        process opened; an open breaker that would stay open longer is left as it is."""
        retry_in = min(retry_in, self.settings.cooldown_seconds)
        if retry_in <= 0 or (self.state is BreakerState.OPEN and self.retry_in() >= retry_in):
            return
        self.opened_reason = reason
        self._move(BreakerState.OPEN)
        self._opened_at = self._clock() - (self.settings.cooldown_seconds - retry_in)

    def adopt_closed(self) -> None:
        """Close because another hub process's probe found the source answering again."""
        self._move(BreakerState.CLOSED)

    def released(self, permit: Permit) -> None:
        """The call ended in a way that says nothing about the source (cancelled, deadline, bad record)."""
        if permit.probe and permit.generation == self._generation:
            self._probing = False
