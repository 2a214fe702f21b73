"""The resilience layer on its own: circuit breaker, retries, timeouts and the deadline, concurrency slots,
latency percentiles, configuration; and the spans it traces."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import get_tracer

from adapters.sdk import (
    MalformedResponseError,
    RecordValidationError,
    UpstreamRateLimitedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from hub.config import load_settings
from hub.errors import ConfigError
from hub.hub import Hub
from hub.metrics import HubMetrics
from hub.resilience.breaker import BreakerState, CircuitBreaker
from hub.resilience.config import BreakerSettings, ResilienceConfig, SourcePolicy
from hub.resilience.errors import CircuitOpenError, DeadlineExceededError, SourceSaturatedError
from hub.resilience.guard import SourceGuard
from hub.resilience.latency import LatencyWindow
from hub.resilience.scope import request_scope
from hub.tracing import current_span

from .support.hub import api_client, erp_source, gql, write_config


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _breaker(clock: Clock, **settings: object) -> CircuitBreaker:
    base: dict[str, object] = {"failure_threshold": 3, "failure_rate": None, "cooldown_seconds": 10}
    return CircuitBreaker("erp", BreakerSettings.model_validate({**base, **settings}), clock=clock)


def test_breaker_opens_after_consecutive_failures_and_probes_after_the_cool_down() -> None:
    clock = Clock()
    moves: list[BreakerState] = []
    breaker = _breaker(clock)
    breaker._on_change = lambda _, state: moves.append(state)
    for _ in range(2):
        breaker.failed(breaker.acquire())
    breaker.succeeded(breaker.acquire())  # a success resets the streak
    for _ in range(3):
        breaker.failed(breaker.acquire())
    assert breaker.state is BreakerState.OPEN and breaker.opened_reason == "3 consecutive failures"
    with pytest.raises(CircuitOpenError, match=r"not called for another 10\.0 s") as caught:
        breaker.acquire("order")
    assert (
        caught.value.code == "CIRCUIT_OPEN"
        and caught.value.source == "erp"
        and caught.value.entity == "order"
    )
    clock.now += 10
    probe = breaker.acquire()
    assert breaker.state is BreakerState.HALF_OPEN and probe.probe
    with pytest.raises(CircuitOpenError, match="probe"):
        breaker.acquire()  # one probe at a time
    breaker.failed(probe)
    assert breaker.state is BreakerState.OPEN, "a failed probe opens it for another cool-down"
    clock.now += 10
    breaker.succeeded(breaker.acquire())
    assert breaker.state is BreakerState.CLOSED and breaker.opened_reason is None
    assert moves == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]


def test_breaker_opens_on_a_failure_rate() -> None:
    breaker = _breaker(Clock(), failure_threshold=100, failure_rate=0.5, window=10, min_calls=6)
    for outcome in [True, False, True, False, True]:
        permit = breaker.acquire()
        breaker.failed(permit) if outcome else breaker.succeeded(permit)
    assert breaker.state is BreakerState.CLOSED, "fewer than min_calls: no verdict yet"
    breaker.failed(breaker.acquire())
    assert breaker.state is BreakerState.OPEN and breaker.opened_reason == "67% of the last 6 calls failed"


def test_a_released_probe_frees_the_slot_and_late_outcomes_are_ignored() -> None:
    clock = Clock()
    breaker = _breaker(clock, failure_threshold=1)
    early = breaker.acquire()
    breaker.failed(breaker.acquire())
    breaker.failed(early)  # started before the breaker opened: does not restart the cool-down
    clock.now += 10
    probe = breaker.acquire()
    breaker.released(probe)  # e.g. the request's deadline: says nothing about the source
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.acquire().probe, "the probe slot is free again"


def _guard(policy: dict[str, object], clock: Clock | None = None) -> SourceGuard:
    return SourceGuard(
        "erp",
        SourcePolicy.model_validate(policy),
        metrics=HubMetrics(),
        tracer=get_tracer("test"),
        clock=clock or time.monotonic,
    )


def _failing(
    errors: list[BaseException], result: str = "ok"
) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return result

    return attempt, calls


FAST_RETRY = {"max_attempts": 3, "base_delay_seconds": 0.001, "max_delay_seconds": 0.002}


async def test_retries_transient_failures_then_succeeds() -> None:
    guard = _guard({"retry": FAST_RETRY})
    attempt, calls = _failing([UpstreamUnavailableError("503"), UpstreamTimeoutError("slow")])
    assert await guard.call("order", "get_many", attempt) == "ok"
    assert len(calls) == 3
    assert guard.metrics.upstream_retries.labels("erp", "order", "get_many")._value.get() == 2
    assert guard.metrics.upstream_requests.labels("erp", "order", "get_many", "ok")._value.get() == 1
    assert (
        guard.metrics.upstream_requests.labels("erp", "order", "get_many", "source_unavailable")._value.get()
        == 1
    )


@pytest.mark.parametrize(
    "error",
    [
        MalformedResponseError("garbage"),
        RecordValidationError("does not fit"),
        UpstreamRateLimitedError("429", retry_after=None),
        UpstreamRateLimitedError("429", retry_after=60),
    ],
    ids=["malformed", "invalid-record", "429-without-retry-after", "429-too-long"],
)
async def test_does_not_retry_what_retrying_cannot_fix(error: Exception) -> None:
    guard = _guard({"retry": FAST_RETRY})
    attempt, calls = _failing([error, error, error])
    with pytest.raises(type(error)):
        await guard.call("order", "get_many", attempt)
    assert len(calls) == 1


async def test_a_429_is_retried_after_its_retry_after() -> None:
    guard = _guard({"retry": {**FAST_RETRY, "max_retry_after_seconds": 1}})
    attempt, calls = _failing([UpstreamRateLimitedError("429", retry_after=0.2)])
    started = time.monotonic()
    assert await guard.call("order", "get_many", attempt) == "ok"
    assert len(calls) == 2 and time.monotonic() - started >= 0.2


async def test_a_call_whose_retry_the_opened_circuit_refuses_reports_what_the_source_answered() -> None:
    """The breaker opens on the first 429 (threshold 1), so the retry is refused: the call reports the
    429, not CIRCUIT_OPEN; a call made once the circuit is open reports CIRCUIT_OPEN."""
    guard = _guard({"retry": FAST_RETRY, "breaker": {"failure_threshold": 1, "failure_rate": None}})
    attempt, calls = _failing([UpstreamRateLimitedError("429", retry_after=0)])
    with pytest.raises(UpstreamRateLimitedError):
        await guard.call("order", "get_many", attempt)
    assert len(calls) == 1 and guard.breaker.state is BreakerState.OPEN
    with pytest.raises(CircuitOpenError):
        await guard.call("order", "get_many", attempt)
    assert len(calls) == 1


async def test_no_retry_starts_that_would_end_past_the_deadline() -> None:
    guard = _guard({"retry": {**FAST_RETRY, "max_retry_after_seconds": 5}})
    attempt, calls = _failing([UpstreamRateLimitedError("429", retry_after=1.0)])
    with request_scope(deadline_seconds=0.3):
        started = time.monotonic()
        with pytest.raises(UpstreamRateLimitedError):
            await guard.call("order", "get_many", attempt)
    assert len(calls) == 1 and time.monotonic() - started < 0.1


async def test_a_slow_source_times_out_and_counts_against_it() -> None:
    guard = _guard(
        {
            "timeout_seconds": 0.05,
            "retry": {"max_attempts": 1},
            "breaker": {"failure_threshold": 1, "failure_rate": None},
        }
    )

    async def slow() -> str:
        await asyncio.sleep(1)
        return "late"

    with pytest.raises(UpstreamTimeoutError, match=r"did not answer within 0\.05 s") as caught:
        await guard.call("order", "find_related", slow)
    assert type(caught.value) is UpstreamTimeoutError and caught.value.code == "SOURCE_TIMEOUT"
    assert guard.breaker.state is BreakerState.OPEN


async def test_the_deadline_cuts_a_call_short_without_blaming_the_source() -> None:
    guard = _guard({"timeout_seconds": 5, "breaker": {"failure_threshold": 1, "failure_rate": None}})

    async def slow() -> str:
        await asyncio.sleep(1)
        return "late"

    with request_scope(deadline_seconds=0.05):
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError) as caught:
            await guard.call("order", "get_many", slow)
        assert time.monotonic() - started < 0.3
        assert caught.value.code == "SOURCE_TIMEOUT"
        with pytest.raises(DeadlineExceededError, match="deadline passed before"):
            await guard.call("order", "get_many", slow)
    assert guard.breaker.state is BreakerState.CLOSED


async def test_the_concurrency_limit_holds_and_bounds_the_wait() -> None:
    guard = _guard({"max_concurrency": 2, "timeout_seconds": 1, "retry": {"max_attempts": 1}})
    running = 0
    peak = 0

    async def call() -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        return "ok"

    assert await asyncio.gather(*(guard.call("order", "get_many", call) for _ in range(8))) == ["ok"] * 8
    assert peak == 2

    release = asyncio.Event()

    async def stuck() -> str:
        await release.wait()
        return "ok"

    blockers = [asyncio.create_task(guard.call("order", "get_many", stuck)) for _ in range(2)]
    await asyncio.sleep(0.01)
    with request_scope(deadline_seconds=0.05), pytest.raises(SourceSaturatedError, match="slots stayed busy"):
        await guard.call("order", "get_many", call)
    release.set()
    await asyncio.gather(*blockers)
    assert guard.breaker.state is BreakerState.CLOSED, "a busy pool is not the source's failure"


def test_latency_percentiles_over_the_recent_window() -> None:
    window = LatencyWindow(100)
    assert window.summary() is None
    for ms in range(1, 201):  # only the last 100 (101..200 ms) count
        window.record(ms / 1000)
    summary = window.summary()
    assert summary is not None and summary.calls == 100
    assert summary.p50_ms == pytest.approx(150) and summary.p95_ms == pytest.approx(195)


def test_per_source_settings_extend_the_defaults() -> None:
    config = ResilienceConfig.model_validate(
        {
            "defaults": {"timeout_seconds": 2, "retry": {"max_attempts": 4, "base_delay_seconds": 0.2}},
            "sources": {"erp": {"retry": {"max_attempts": 1}}, "desk": {"timeout_seconds": 9}},
        }
    )
    erp = config.policy_for("erp")
    assert erp.timeout_seconds == 2 and erp.retry.max_attempts == 1 and erp.retry.base_delay_seconds == 0.2
    assert (
        config.policy_for("desk").timeout_seconds == 9 and config.policy_for("desk").retry.max_attempts == 4
    )
    assert config.policy_for("other") == config.defaults


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"resilience": {"sources": {"nowhere": {"timeout_seconds": 1}}}},
            "resilience.sources: no source named",
        ),
        ({"cache": {"sources": {"nowhere": {"ttl_seconds": 1}}}}, "cache.sources: no source named"),
        ({"hooks": {"nowhere": {"secret": "0123456789abcdef"}}}, "hooks: no source named"),
        ({"hooks": {"erp": {"secret": "short"}}}, "at least 16 characters"),
        ({"resilience": {"defaults": {"timeout_seconds": 0}}}, "greater than 0"),
        ({"resilience": {"sources": {"erp": {"retry": {"max_attempts": 0}}}}}, "greater than or equal to 1"),
        ({"tracing": {"exporter": "jaeger"}}, "otlp"),
    ],
)
def test_bad_resilience_settings_are_refused_clearly(
    tmp_path: Path, extra: dict[str, object], message: str
) -> None:
    config = write_config(
        tmp_path,
        database_url="sqlite+aiosqlite:///hub.sqlite",
        sources=[erp_source("sqlite:///erp.db")],
        **extra,
    )
    with pytest.raises(ConfigError, match=message):
        load_settings(config)


def test_environment_variables_override_resilience_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(
        tmp_path,
        database_url="sqlite+aiosqlite:///hub.sqlite",
        sources=[erp_source("sqlite:///erp.db")],
        resilience={"sources": {"erp": {"timeout_seconds": 3}}},
    )
    monkeypatch.setenv("CRMHUB_RESILIENCE__SOURCES__ERP__TIMEOUT_SECONDS", "0.7")
    monkeypatch.setenv("CRMHUB_HOOKS__ERP__SECRET", "from-the-environment-1234")
    settings = load_settings(config)
    assert settings.resilience.policy_for("erp").timeout_seconds == 0.7
    assert settings.hooks["erp"].secret.get_secret_value() == "from-the-environment-1234"


async def _traced_page(erp_sqlite: Path, tmp_path: Path, install: Callable[[Hub], None]) -> list[Any]:
    """The spans of one customer page, with ``install`` putting a recording tracer in place."""
    config = write_config(
        tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}",
        sources=[erp_source(f"sqlite+aiosqlite:///{erp_sqlite}")],
    )
    hub = await Hub.start(load_settings(config))
    try:
        from hub.identity import seed_identity_map

        await seed_identity_map(hub)
        install(hub)
        async with api_client(hub) as client:
            status, body = await gql(
                client, "query Page { customers(first: 3) { edges { node { name orders { totalCount } } } } }"
            )
        assert status == 200 and "errors" not in body
    finally:
        await hub.aclose()
    return list(EXPORTED.get_finished_spans())


def _assert_operation_and_upstream_spans(finished: list[Any]) -> None:
    spans = {span.name: span for span in finished}
    operation = spans["graphql query Page"]
    upstream = [span for name, span in spans.items() if name.startswith("upstream erp")]
    assert {span.name for span in upstream} == {"upstream erp get_many", "upstream erp find_related"}
    for span in upstream:
        assert span.parent is not None and span.parent.span_id == operation.context.span_id
        assert span.attributes["crmhub.outcome"] == "ok" and span.attributes["crmhub.source"] == "erp"
    assert operation.attributes["graphql.operation.type"] == "query"


EXPORTED = InMemorySpanExporter()


def _recording_provider() -> TracerProvider:
    EXPORTED.clear()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(EXPORTED))
    return provider


async def test_spans_cover_the_operation_and_each_upstream_call(erp_sqlite: Path, tmp_path: Path) -> None:
    def install(hub: Hub) -> None:
        tracer = _recording_provider().get_tracer("crmhub")
        hub.tracing.tracer = tracer
        for guard in hub.sources.guards.values():
            guard.tracer = tracer

    _assert_operation_and_upstream_spans(await _traced_page(erp_sqlite, tmp_path, install))


async def test_a_provider_the_embedding_application_installs_later_gets_the_spans(
    erp_sqlite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With tracing off in the config the hub uses the global provider. While none is installed its spans
    are skipped (they would record nothing); once an application installs one, they are recorded."""
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)

    def install(hub: Hub) -> None:
        # What ``trace.set_tracer_provider`` does, undone after the test (that function works once per process).
        monkeypatch.setattr(trace, "_TRACER_PROVIDER", _recording_provider())

    _assert_operation_and_upstream_spans(await _traced_page(erp_sqlite, tmp_path, install))


def test_no_span_is_started_while_no_provider_records_them() -> None:
    tracer = trace.get_tracer("crmhub")
    with current_span(tracer, "probe", attributes={"crmhub.source": "erp"}) as span:
        assert span is trace.INVALID_SPAN and not span.is_recording()
        assert trace.get_current_span() is trace.INVALID_SPAN
    recording = _recording_provider().get_tracer("crmhub")
    with current_span(recording, "probe") as span:
        assert span.is_recording() and trace.get_current_span() is span


def test_tracing_can_be_switched_on_from_config() -> None:
    from hub.tracing import TracingConfig, build_tracing

    tracing = build_tracing(TracingConfig(enabled=True, exporter="console", service_name="hub-test"))
    try:
        with tracing.tracer.start_as_current_span("probe") as span:
            assert span.is_recording(), "the SDK provider records spans"
    finally:
        tracing.close()
    assert not build_tracing(TracingConfig()).tracer.start_span("x").is_recording()
