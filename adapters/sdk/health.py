"""The result of an adapter's ``check()``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    latency_ms: float
    detail: str | None = None
