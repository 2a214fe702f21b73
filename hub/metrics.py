"""Prometheus metrics. One registry per hub so several hubs in one process (tests) do not collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HubMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.upstream_requests = Counter(
            "crmhub_upstream_requests",
            "Calls made to upstream sources, by operation and outcome.",
            ["source", "entity", "operation", "outcome"],
            registry=self.registry,
        )
        self.upstream_latency = Histogram(
            "crmhub_upstream_latency_seconds",
            "Latency of upstream calls.",
            ["source", "entity", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.graphql_operations = Counter(
            "crmhub_graphql_operations",
            "GraphQL operations executed, by type and whether they had errors.",
            ["operation_type", "outcome"],
            registry=self.registry,
        )

        self.upstream_retries = Counter(
            "crmhub_upstream_retries",
            "Upstream calls retried after a retryable failure.",
            ["source", "entity", "operation"],
            registry=self.registry,
        )
        self.cache_lookups = Counter(
            "crmhub_cache_lookups",
            "Cache lookups by key: hit (fresh), miss, or stale (expired, served as its source failed).",
            ["source", "entity", "result"],
            registry=self.registry,
        )
        self.cache_errors = Counter(
            "crmhub_cache_errors",
            "Cache backend operations that failed or timed out (reads then count as misses).",
            ["operation"],
            registry=self.registry,
        )
        self.cache_evictions = Counter(
            "crmhub_cache_evictions",
            "Entries the memory cache evicted (least recently used first) to stay within memory_max_entries.",
            registry=self.registry,
        )
        self.breaker_state = Gauge(
            "crmhub_circuit_breaker_state",
            "Circuit breaker state per source: 0 closed, 1 half-open, 2 open.",
            ["source"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
