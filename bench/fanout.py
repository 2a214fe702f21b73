"""Cold customer 360 latency with every silo slow: p50 / per-silo latency (target <= 1.15).

Each of the four silos (ERP over SQL, accounting, support and marketing over HTTP) answers every call after
``--latency-ms`` (50 ms). A customer 360 reads all four; since the hub fans out to them concurrently in one
round, the whole request should take little more than ONE silo's latency. Caching is off (every request is
cold) and each request asks for a different customer.

    python -m bench.fanout [--latency-ms 50] [--requests 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import machine, table
from bench.fleet import CUSTOMER_360, silo_fleet

TARGET = 1.15


async def measure(latency_ms: float, requests: int) -> dict[str, float]:
    from hub.context import RequestContext
    from schema import build_schema

    schema = build_schema()
    with tempfile.TemporaryDirectory() as tmp:
        async with silo_fleet(Path(tmp), latency_ms=latency_ms) as fleet:
            hub, customers = fleet.hub, fleet.customers

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

            await ask(customers[-1])  # connections and the accounting OAuth token, not measured
            timings = [await ask(customers[i % (len(customers) - 1)]) for i in range(requests)]
            calls = {name: hub.sources.adapter(name).upstream_calls for name in hub.sources.names()}
    p50 = statistics.median(timings)
    return {
        "p50_ms": p50 * 1000,
        "p95_ms": statistics.quantiles(timings, n=20)[-1] * 1000,
        "ratio": p50 / (latency_ms / 1000),
        "calls_per_request": sum(calls.values()) / (requests + 1),
    }


def _positive(kind: type[float] | type[int]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0, not {text}")
        return value

    return parse


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--latency-ms", type=_positive(float), default=50.0, help="injected per-silo latency (> 0)"
    )
    parser.add_argument("--requests", type=_positive(int), default=40, help="cold requests to time (> 0)")
    args = parser.parse_args()
    result = asyncio.run(measure(args.latency_ms, args.requests))
    print(f"machine: {machine()}")
    print("sources: erp (SQL adapter + injected delay), accounting, support, marketing (HTTP silos)")
    print(
        table(
            [
                "latency per silo",
                "cold p50",
                "cold p95",
                "upstream calls / request",
                "p50 / latency",
                "target",
            ],
            [
                [
                    f"{args.latency_ms:.0f} ms",
                    f"{result['p50_ms']:.1f} ms",
                    f"{result['p95_ms']:.1f} ms",
                    f"{result['calls_per_request']:.1f}",
                    f"{result['ratio']:.3f}",
                    f"<= {TARGET}",
                ]
            ],
        )
    )


if __name__ == "__main__":
    main()
