"""Cold customer 360 latency with every silo slow: p50 / per-silo latency (target <= 1.15).

Each of the four silos (ERP over SQL, accounting, support and marketing over HTTP) answers every call after
``--latency-ms`` (50 ms). A customer 360 reads all four; since the hub fans out to them concurrently in one
round, the whole request should take little more than ONE silo's latency. Caching is off (every request is
cold) and each request asks for a different customer.

    python -m bench.fanout [--latency-ms 50] [--requests 150] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeAlias

from adapters.sdk import Adapter
from bench.common import cpu_ticks, machine, steal_share, table
from bench.fleet import CUSTOMER_360, silo_fleet

TARGET = 1.15
#: One adapter call as the hub made it: the bound method and its arguments.
Call: TypeAlias = tuple[Callable[..., Awaitable[Any]], tuple[Any, ...]]
QUICK_ARGS = ("--quick",)
#: Cold requests timed by ``--quick``: enough for a median, few enough for a smoke run.
QUICK_REQUESTS = 3


class CallRecorder:
    """Records the adapter calls each request makes, so the same calls can be replayed without the hub."""

    def __init__(self, adapters: dict[str, Adapter[Any]]) -> None:
        self.current: list[Call] = []
        for adapter in adapters.values():
            for method in ("get_many", "find_related"):
                setattr(adapter, method, self._recording(adapter, getattr(adapter, method)))

    def _recording(
        self, adapter: Adapter[Any], method: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        async def call(*args: Any) -> Any:
            self.current.append((method, args))
            return await method(*args)

        return call


async def measure(latency_ms: float, requests: int) -> dict[str, float]:
    """The hub's cold 360 timings, and next to them the same upstream calls made straight through the
    adapters, all at once, with no GraphQL, loaders, cache or guard: what the client libraries and the
    silos cost on this machine, the floor under the hub's figure."""
    from hub.context import RequestContext
    from schema import build_schema

    schema = build_schema()
    with tempfile.TemporaryDirectory() as tmp:
        async with silo_fleet(Path(tmp), latency_ms=latency_ms) as fleet:
            hub, customers = fleet.hub, fleet.customers
            recorder = CallRecorder({name: hub.sources.adapter(name) for name in hub.sources.names()})

            async def ask(customer_id: str) -> float:
                started = time.perf_counter()
                result = await schema.execute(
                    CUSTOMER_360, {"id": customer_id}, context_value=RequestContext.for_hub(hub)
                )
                elapsed = time.perf_counter() - started
                if result.errors:
                    raise SystemExit(f"the customer 360 failed: {result.errors[0]}")
                data = result.data or {}
                customer = data.get("customer") or {}
                if not (customer.get("invoices") is not None and customer.get("marketing") is not None):
                    raise SystemExit("the customer 360 did not reach every silo")
                return elapsed

            async def replay(calls: list[Call]) -> float:
                started = time.perf_counter()
                await asyncio.gather(*(method(*args) for method, args in calls))
                return time.perf_counter() - started

            await ask(customers[-1])  # connections and the accounting OAuth token, not measured
            timings, recorded = [], []
            ticks, cpu = cpu_ticks(), time.process_time()
            for i in range(requests):
                recorder.current = []
                timings.append(await ask(customers[i % (len(customers) - 1)]))
                recorded.append(recorder.current)
            cpu, steal = time.process_time() - cpu, steal_share(ticks, cpu_ticks())
            calls = {name: hub.sources.adapter(name).upstream_calls for name in hub.sources.names()}
            direct = [await replay(request_calls) for request_calls in recorded]
    p50 = statistics.median(timings)
    direct_p50 = statistics.median(direct)
    return {
        "p50_ms": p50 * 1000,
        "p95_ms": _p95(timings) * 1000,
        "ratio": p50 / (latency_ms / 1000),
        "calls_per_request": sum(calls.values()) / (requests + 1),
        "latency_ms": latency_ms,
        "requests": float(requests),
        "direct_p50_ms": direct_p50 * 1000,
        "direct_ratio": direct_p50 / (latency_ms / 1000),
        # The hub process's CPU per request (its threads included): less sensitive to a noisy machine than
        # the latency, and what the latency above 50 ms is mostly made of.
        "cpu_ms_per_request": cpu / requests * 1000,
        **({} if steal is None else {"steal_percent": steal * 100}),
    }


def _p95(timings: list[float]) -> float:
    # ``quantiles`` needs two timings; a single one is its own p95.
    return statistics.quantiles(timings, n=20)[-1] if len(timings) > 1 else timings[0]


def positive(kind: type[float] | type[int]) -> Callable[[str], float]:
    """An argparse type: a number greater than 0."""

    def parse(text: str) -> float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0, not {text}")
        return value

    return parse


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--latency-ms", type=positive(float), default=50.0, help="injected per-silo latency (> 0)"
    )
    parser.add_argument("--requests", type=positive(int), default=150, help="cold requests to time (> 0)")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_REQUESTS} requests: a smoke run, not a measurement"
    )
    args = parser.parse_args(argv)
    requests = QUICK_REQUESTS if args.quick else args.requests
    result = asyncio.run(measure(args.latency_ms, requests))
    print(f"machine: {machine()}")
    if "steal_percent" in result:
        print(f"CPU time stolen by the hypervisor while timing: {result['steal_percent']:.1f}%")
    print("sources: erp (SQL adapter + injected delay), accounting, support, marketing (HTTP silos)")
    print(
        table(
            [
                "latency per silo",
                "cold p50",
                "cold p95",
                "upstream calls / request",
                "hub CPU / request",
                "p50 / latency",
                "target",
                "same calls without the hub: p50",
                "/ latency",
            ],
            [
                [
                    f"{args.latency_ms:.0f} ms",
                    f"{result['p50_ms']:.1f} ms",
                    f"{result['p95_ms']:.1f} ms",
                    f"{result['calls_per_request']:.1f}",
                    f"{result['cpu_ms_per_request']:.1f} ms",
                    f"{result['ratio']:.3f}",
                    f"<= {TARGET}",
                    f"{result['direct_p50_ms']:.1f} ms",
                    f"{result['direct_ratio']:.3f}",
                ]
            ],
        )
    )
    return result


if __name__ == "__main__":
    main()
