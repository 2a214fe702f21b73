"""Errors the resilience layer adds to the SDK's, and how every error is judged: retry it? count it
against the source's circuit breaker?"""

from __future__ import annotations

from adapters.sdk import (
    AdapterConfigError,
    AdapterError,
    RecordValidationError,
    UnsupportedEntityError,
    UpstreamAuthError,
    UpstreamRateLimitedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)


class CircuitOpenError(AdapterError):
    """The source failed too often lately; the hub does not call it until the cool-down is over."""

    code = "CIRCUIT_OPEN"

    def __init__(
        self, message: str, *, retry_in: float, source: str | None = None, entity: str | None = None
    ) -> None:
        super().__init__(message, source=source, entity=entity)
        self.retry_in = retry_in


class DeadlineExceededError(UpstreamTimeoutError):
    """The request's own deadline ran out: the source was not (yet) too slow, so this is not held
    against it."""


class SourceSaturatedError(UpstreamTimeoutError):
    """Every connection slot of the source stayed busy for the whole timeout."""


#: Errors that say nothing about the source's availability.
_NEUTRAL = (
    CircuitOpenError,
    DeadlineExceededError,
    SourceSaturatedError,
    UnsupportedEntityError,
    RecordValidationError,
    AdapterConfigError,
    UpstreamAuthError,
)


def counts_against_source(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure of the upstream (5xx, refused, too slow, 429, garbage, or a bug)."""
    if not isinstance(exc, Exception):  # cancellation: the caller gave up, the source did nothing wrong
        return False
    return not isinstance(exc, _NEUTRAL)


def is_retryable(exc: BaseException, *, max_retry_after: float) -> bool:
    """Retry unavailable and timed-out reads, and 429s that say when to come back (soon enough)."""
    if isinstance(exc, DeadlineExceededError | SourceSaturatedError | CircuitOpenError):
        return False
    if isinstance(exc, UpstreamRateLimitedError):
        return exc.retry_after is not None and exc.retry_after <= max_retry_after
    return isinstance(exc, UpstreamUnavailableError | UpstreamTimeoutError)


def outcome_of(exc: BaseException | None) -> str:
    """The ``outcome`` label of the upstream request metrics."""
    if exc is None:
        return "ok"
    if isinstance(exc, AdapterError):
        return exc.code.lower()
    return "error"
