"""What one GraphQL request carries down to the upstream calls: its deadline, and what it has to tell the
client afterwards (stale data served, sources left out of a merged result).

The scope travels in a context variable: DataLoader batches run in tasks created from the resolvers, so they
inherit it, and the hub's read path needs no extra arguments. Code outside a request (CLI, seeding) has no
scope: only the per-source timeouts apply there.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from adapters.sdk import AdapterError


@dataclass(frozen=True, slots=True)
class StaleNotice:
    source: str
    entity: str
    age_seconds: float


@dataclass(frozen=True, slots=True)
class PartialFailure:
    """A source left out of a merged result (e.g. a customer profile) rather than failing the field."""

    error: AdapterError
    subject: str


@dataclass
class RequestScope:
    #: ``time.monotonic()`` value after which no upstream call may start or continue; None = no deadline.
    deadline: float | None = None
    stale: dict[tuple[str, str], float] = field(default_factory=dict)
    partial: dict[tuple[str, str, str], PartialFailure] = field(default_factory=dict)

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def served_stale(self, source: str, entity: str, age_seconds: float) -> None:
        key = (source, entity)
        self.stale[key] = max(self.stale.get(key, 0.0), age_seconds)

    def stale_notices(self) -> list[StaleNotice]:
        return [StaleNotice(source, entity, age) for (source, entity), age in sorted(self.stale.items())]

    def left_out(self, error: AdapterError, subject: str) -> None:
        key = (error.source or "", error.code, subject)
        self.partial.setdefault(key, PartialFailure(error, subject))


_current: ContextVar[RequestScope | None] = ContextVar("crmhub_request_scope", default=None)


def current_scope() -> RequestScope | None:
    return _current.get()


def remaining_seconds() -> float | None:
    scope = _current.get()
    return None if scope is None else scope.remaining()


@contextmanager
def request_scope(
    *, deadline_seconds: float | None, started_at: float | None = None
) -> Iterator[RequestScope]:
    """Open a scope whose deadline is ``deadline_seconds`` after ``started_at`` (monotonic; default now)."""
    start = time.monotonic() if started_at is None else started_at
    scope = RequestScope(deadline=None if deadline_seconds is None else start + deadline_seconds)
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)
