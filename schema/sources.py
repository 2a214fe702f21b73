"""The configured sources: their health, circuit breaker state and recent upstream latency."""

from __future__ import annotations

from enum import Enum

import strawberry

from hub.resilience.breaker import BreakerState
from hub.sources import SourceStatus


@strawberry.enum
class SourceHealth(Enum):
    UP = "up"
    DOWN = "down"


@strawberry.enum
class CircuitState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@strawberry.type(description="Upstream latency over the most recent calls to the source.")
class SourceLatency:
    calls: int = strawberry.field(description="How many recent calls the percentiles cover.")
    p50_ms: float
    p95_ms: float


@strawberry.type
class Source:
    _status: strawberry.Private[SourceStatus]

    @strawberry.field
    def name(self) -> str:
        return self._status.name

    @strawberry.field
    def adapter(self) -> str:
        return self._status.adapter

    @strawberry.field(description="Whether the probe of the upstream just made succeeded.")
    def health(self) -> SourceHealth:
        return SourceHealth.UP if self._status.health.ok else SourceHealth.DOWN

    @strawberry.field
    def latency_ms(self) -> float:
        return round(self._status.health.latency_ms, 2)

    @strawberry.field
    def detail(self) -> str | None:
        return self._status.health.detail

    @strawberry.field(
        description="CLOSED: called normally; OPEN: failing fast after repeated failures; "
        "HALF_OPEN: one probe call decides."
    )
    def circuit(self) -> CircuitState:
        return CircuitState(BreakerState(self._status.breaker).value)

    @strawberry.field(description="Why the circuit opened, while it is open or half-open.")
    def circuit_reason(self) -> str | None:
        return self._status.breaker_reason

    @strawberry.field(description="p50/p95 of the recent upstream calls; null before the first call.")
    def recent_latency(self) -> SourceLatency | None:
        summary = self._status.latency
        if summary is None:
            return None
        return SourceLatency(
            calls=summary.calls, p50_ms=round(summary.p50_ms, 2), p95_ms=round(summary.p95_ms, 2)
        )
