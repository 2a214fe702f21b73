"""The ``resilience:`` section of ``crmhub.yaml``: how long to wait for each source, how to retry, when to
stop calling it, how many calls may be in flight.

::

    resilience:
      request_deadline_seconds: 3        # a GraphQL request never waits for its sources longer than this
      defaults:                          # every source...
        timeout_seconds: 2
        max_concurrency: 32
        retry: {max_attempts: 3, base_delay_seconds: 0.05, max_delay_seconds: 1, max_retry_after_seconds: 2}
        breaker: {failure_threshold: 5, failure_rate: 0.5, window: 20, min_calls: 10, cooldown_seconds: 30}
      sources:                           # ...unless overridden here; only the keys given change
        accounting: {timeout_seconds: 4, retry: {max_attempts: 2}}

Environment variables override single values, e.g. ``CRMHUB_RESILIENCE__SOURCES__ERP__TIMEOUT_SECONDS=1``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RetrySettings(BaseModel):
    """Retries of idempotent reads: only for unavailable/timeout, and 429s whose Retry-After fits."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(default=3, ge=1, le=10)
    base_delay_seconds: float = Field(default=0.05, ge=0)
    max_delay_seconds: float = Field(default=1.0, ge=0)
    #: A 429 is retried only when it says when (Retry-After) and that is at most this long.
    max_retry_after_seconds: float = Field(default=2.0, ge=0)


class BreakerSettings(BaseModel):
    """Opens after ``failure_threshold`` consecutive failures, or when at least ``min_calls`` of the last
    ``window`` calls were made and ``failure_rate`` of them failed; probes again after ``cooldown``."""

    model_config = ConfigDict(extra="forbid")

    failure_threshold: int = Field(default=5, ge=1)
    failure_rate: float | None = Field(default=0.5, gt=0, le=1)
    window: int = Field(default=20, ge=1, le=10_000)
    min_calls: int = Field(default=10, ge=1)
    cooldown_seconds: float = Field(default=30.0, gt=0)


class SourcePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: One upstream call (one attempt) may take this long; the request deadline may cut it shorter.
    timeout_seconds: float = Field(default=5.0, gt=0)
    #: Calls to the source in flight at once from this hub process; more wait for a free slot.
    max_concurrency: int = Field(default=32, ge=1, le=1024)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    breaker: BreakerSettings = Field(default_factory=BreakerSettings)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class ResilienceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_deadline_seconds: float = Field(default=10.0, gt=0)
    #: With the cache in Redis, a breaker that opens (or closes after its probe) in one hub process does so
    #: in the others sharing that Redis and key prefix (``hub/resilience/shared.py``).
    share_breakers: bool = True
    #: How many recent calls per source the ``sources`` query's p50/p95 latency is computed over.
    latency_window: int = Field(default=200, ge=10, le=100_000)
    defaults: SourcePolicy = Field(default_factory=SourcePolicy)
    sources: dict[str, SourcePolicy] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _sources_extend_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
            return data
        defaults = data.get("defaults")
        base = defaults if isinstance(defaults, dict) else {}
        if isinstance(defaults, SourcePolicy):
            base = defaults.model_dump(exclude_unset=True)
        sources = {
            name: _deep_merge(base, value) if isinstance(value, dict) else value
            for name, value in data["sources"].items()
        }
        return {**data, "sources": sources}

    def policy_for(self, source: str) -> SourcePolicy:
        return self.sources.get(source, self.defaults)
