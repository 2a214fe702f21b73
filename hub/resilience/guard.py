"""``SourceGuard``: every upstream call of one source goes through it.

One call = up to ``retry.max_attempts`` attempts (tenacity, full-jitter exponential backoff, or the
source's Retry-After for a 429 that fits the budget), never past the request deadline. Each attempt asks the
circuit breaker for a permit, waits for a free concurrency slot, and runs under
``min(source timeout, time left before the request deadline)``. Each attempt is measured (Prometheus, the
latency window) and traced (one OpenTelemetry span).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Counter, Histogram
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from adapters.sdk import AdapterError, UpstreamRateLimitedError, UpstreamTimeoutError

from ..metrics import HubMetrics
from ..tracing import current_span
from .breaker import STATE_VALUES, BreakerState, CircuitBreaker, Permit
from .config import SourcePolicy
from .errors import (
    CircuitOpenError,
    DeadlineExceededError,
    SourceSaturatedError,
    counts_against_source,
    is_retryable,
    outcome_of,
)
from .latency import LatencyWindow
from .scope import remaining_seconds

T = TypeVar("T")
#: An attempt needs at least this much time left to be worth starting.
MIN_ATTEMPT_SECONDS = 0.005


Metric = TypeVar("Metric", Counter, Histogram)


def _labelled(kept: dict[tuple[str, ...], Metric], metric: Metric, *labels: str) -> Metric:
    """``metric.labels(*labels)``, kept in ``kept``: ``labels()`` takes a lock and validates the labels on
    every call, twice per upstream call."""
    series = kept.get(labels)
    if series is None:
        series = kept[labels] = metric.labels(*labels)
    return series


class _OutOfTime(stop_base):
    """Stop when the wait before the next attempt would leave it no time before the request deadline."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        remaining = remaining_seconds()
        return remaining is not None and remaining - retry_state.upcoming_sleep < MIN_ATTEMPT_SECONDS


class SourceGuard:
    def __init__(
        self,
        source: str,
        policy: SourcePolicy,
        *,
        metrics: HubMetrics,
        tracer: trace.Tracer,
        latency_window: int = 200,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.policy = policy
        self.metrics = metrics
        self.tracer = tracer
        self.latency = LatencyWindow(latency_window)
        self.breaker = CircuitBreaker(source, policy.breaker, clock=clock, on_change=self._breaker_moved)
        self._slots = asyncio.Semaphore(policy.max_concurrency)
        self._request_series: dict[tuple[str, ...], Counter] = {}
        self._latency_series: dict[tuple[str, ...], Histogram] = {}
        self._breaker_moved(source, BreakerState.CLOSED)

    def _breaker_moved(self, source: str, state: BreakerState) -> None:
        self.metrics.breaker_state.labels(source).set(STATE_VALUES[state])

    # -- retries --------------------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, UpstreamRateLimitedError) and error.retry_after is not None:
            return error.retry_after
        retry = self.policy.retry
        backoff = wait_random_exponential(multiplier=retry.base_delay_seconds, max=retry.max_delay_seconds)
        return float(backoff(state))

    async def call(self, entity: str, operation: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` (an idempotent read) with retries, breaker, concurrency limit and timeouts."""
        retry = self.policy.retry
        # Nearly every call succeeds at once: the first attempt runs without the retry machinery, which
        # costs more than the rest of the guard together.
        try:
            return await self._attempt(entity, operation, attempt)
        except Exception as exc:
            if retry.max_attempts < 2 or not is_retryable(exc, max_retry_after=retry.max_retry_after_seconds):
                raise
            first_failure: Exception = exc
        return await self._retry(entity, operation, attempt, first_failure)

    async def _retry(
        self, entity: str, operation: str, attempt: Callable[[], Awaitable[T]], first_failure: Exception
    ) -> T:
        retry = self.policy.retry

        def counted(state: RetryCallState) -> None:
            self.metrics.upstream_retries.labels(self.source, entity, operation).inc()

        retrying = AsyncRetrying(
            stop=stop_after_attempt(retry.max_attempts) | _OutOfTime(),
            wait=self._wait,
            retry=retry_if_exception(
                lambda exc: is_retryable(exc, max_retry_after=retry.max_retry_after_seconds)
            ),
            before_sleep=counted,
            reraise=True,
        )
        replayed = [first_failure]
        last_failure = first_failure

        async def next_attempt() -> T:
            nonlocal last_failure
            # tenacity's first attempt is the one already made: its failure is replayed, not re-sent, so
            # the backoff, Retry-After and deadline rules apply to it exactly as to the later ones.
            if replayed:
                raise replayed.pop()
            try:
                return await self._attempt(entity, operation, attempt)
            except CircuitOpenError:
                raise
            except Exception as exc:
                last_failure = exc
                raise

        try:
            return await retrying(next_attempt)
        except CircuitOpenError:
            # The circuit opened while this call was retrying, on its own failures or on those of the
            # source's other calls. What the source answered says more than which call reached the breaker
            # first, and does not depend on that order.
            raise last_failure from None

    # -- one attempt ----------------------------------------------------------------------------------

    def _budget(self, entity: str) -> tuple[float, bool]:
        """Seconds this attempt may take, and whether the request deadline (not the source) set them."""
        timeout = self.policy.timeout_seconds
        remaining = remaining_seconds()
        if remaining is None or remaining >= timeout:
            return timeout, False
        if remaining < MIN_ATTEMPT_SECONDS:
            raise DeadlineExceededError(
                "the request deadline passed before the source could be called",
                source=self.source,
                entity=entity,
            )
        return remaining, True

    async def _attempt(self, entity: str, operation: str, attempt: Callable[[], Awaitable[T]]) -> T:
        budget, deadline_bound = self._budget(entity)
        try:
            permit = self.breaker.acquire(entity)
        except CircuitOpenError:
            self.metrics.upstream_requests.labels(self.source, entity, operation, "circuit_open").inc()
            raise
        started = time.perf_counter()
        error: BaseException | None = None
        called = False
        with current_span(
            self.tracer,
            f"upstream {self.source} {operation}",
            kind=SpanKind.CLIENT,
            attributes={"crmhub.source": self.source, "crmhub.entity": entity, "crmhub.operation": operation},
        ) as span:
            window = asyncio.timeout(budget)
            try:
                try:
                    async with window, self._slots:
                        called = True
                        started = time.perf_counter()
                        return await attempt()
                except TimeoutError:
                    if not window.expired():
                        raise
                    raise self._timed_out(entity, budget, deadline_bound, called) from None
            except BaseException as exc:
                error = exc
                raise
            finally:
                self._settle(permit, error, called, entity, operation, time.perf_counter() - started, span)

    def _timed_out(self, entity: str, budget: float, deadline_bound: bool, called: bool) -> AdapterError:
        if not called:
            return SourceSaturatedError(
                f"all {self.policy.max_concurrency} connection slots stayed busy for {budget:.2f} s",
                source=self.source,
                entity=entity,
            )
        if deadline_bound:
            return DeadlineExceededError(
                f"the request deadline ran out after {budget:.2f} s waiting for the source",
                source=self.source,
                entity=entity,
            )
        return UpstreamTimeoutError(
            f"did not answer within {budget:.2f} s", source=self.source, entity=entity
        )

    def _settle(
        self,
        permit: Permit,
        error: BaseException | None,
        called: bool,
        entity: str,
        operation: str,
        seconds: float,
        span: trace.Span,
    ) -> None:
        if error is None:
            self.breaker.succeeded(permit)
        elif counts_against_source(error):
            self.breaker.failed(permit)
        else:
            self.breaker.released(permit)
        outcome = outcome_of(error) if not isinstance(error, asyncio.CancelledError) else "cancelled"
        span.set_attribute("crmhub.outcome", outcome)
        if error is not None and outcome != "cancelled":
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        if not called:
            return
        requests, latency = self.metrics.upstream_requests, self.metrics.upstream_latency
        _labelled(self._request_series, requests, self.source, entity, operation, outcome).inc()
        _labelled(self._latency_series, latency, self.source, entity, operation).observe(seconds)
        self.latency.record(seconds)

    # -- scans ----------------------------------------------------------------------------------------

    async def stream(self, entity: str, records: Callable[[], AsyncIterator[T]]) -> AsyncIterator[T]:
        """A scan: breaker and metrics apply, but not timeouts, retries or slots (scans run for minutes
        and cannot be restarted half-way)."""
        permit = self.breaker.acquire(entity)
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            async for record in records():
                yield record
        except BaseException as exc:
            error = exc
            raise
        finally:
            if error is None:
                self.breaker.succeeded(permit)
            elif counts_against_source(error):
                self.breaker.failed(permit)
            else:
                self.breaker.released(permit)
            outcome = outcome_of(error) if isinstance(error, Exception) or error is None else "cancelled"
            self.metrics.upstream_requests.labels(self.source, entity, "scan", outcome).inc()
            self.metrics.upstream_latency.labels(self.source, entity, "scan").observe(
                time.perf_counter() - started
            )
