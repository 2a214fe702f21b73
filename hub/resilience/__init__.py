"""Resilience of upstream reads: per-source timeouts within a request deadline, retries, a circuit breaker
and a concurrency limit (``guard.py``), configured by the ``resilience:`` section (``config.py``)."""

from __future__ import annotations

from .breaker import BreakerState, CircuitBreaker
from .config import BreakerSettings, ResilienceConfig, RetrySettings, SourcePolicy
from .errors import CircuitOpenError, DeadlineExceededError, SourceSaturatedError
from .guard import SourceGuard
from .scope import RequestScope, current_scope, request_scope

__all__ = [
    "BreakerSettings",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpenError",
    "DeadlineExceededError",
    "RequestScope",
    "ResilienceConfig",
    "RetrySettings",
    "SourceGuard",
    "SourcePolicy",
    "SourceSaturatedError",
    "current_scope",
    "request_scope",
]
