"""Recent upstream latency of one source, for the ``sources`` query (p50/p95 over the last N calls)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LatencySummary:
    calls: int
    p50_ms: float
    p95_ms: float


class LatencyWindow:
    def __init__(self, size: int) -> None:
        self._samples: deque[float] = deque(maxlen=size)

    def record(self, seconds: float) -> None:
        self._samples.append(seconds)

    def summary(self) -> LatencySummary | None:
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        return LatencySummary(
            calls=len(ordered),
            p50_ms=_percentile(ordered, 0.50) * 1000,
            p95_ms=_percentile(ordered, 0.95) * 1000,
        )


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ordered sample."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]
