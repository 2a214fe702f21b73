"""Cold customer 360 latency with every silo slow: p50 / per-silo latency (target <= 1.15).

Each of the four silos (ERP over SQL, accounting, support and marketing over HTTP) answers every call after
``--latency-ms`` (50 ms). A customer 360 reads all four; since the hub fans out to them concurrently in one
round, the whole request should take little more than ONE silo's latency. Caching is off (every request is
cold) and each request asks for a different customer.

Beside the figure, the run measures where the time above the latency goes, on this machine and in this run:

* the same adapter calls replayed all at once without the hub (what the adapters and client libraries cost);
* the same HTTP requests sent straight through aiohttp, bodies read but not decoded, beside the ERP calls'
  injected delay (what the machine, the silo process and the loopback network cost: no client can go under
  it);
* the hub's own CPU per 360 with every adapter answering at once from the recorded answers (GraphQL, the
  hub's customer lookup, loaders, single-flight, guard, metrics). That work runs before the first call goes
  out or after the answers are in, so the machine's floor plus it is about what a hub over adapters that
  cost nothing would still take (a little less where early answers are completed while later ones are on
  their way).

The hub runs on the event loop ``crmhub serve`` runs on (uvloop, which uvicorn picks when it is installed);
``--loop asyncio`` runs it on asyncio's own loop instead.

    python -m bench.fanout [--latency-ms 50] [--requests 150] [--quick] [--loop served|asyncio]
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

import httpx

from adapters.sdk import Adapter
from bench.common import cpu_ticks, machine, run_as_served, served_loop, steal_share, table
from bench.fleet import CUSTOMER_360, silo_fleet

TARGET = 1.15
#: One adapter call as the hub made it: the bound method and its arguments.
Call: TypeAlias = tuple[Callable[..., Awaitable[Any]], tuple[Any, ...]]
QUICK_ARGS = ("--quick",)
#: Cold requests timed by ``--quick``: enough for a median, few enough for a smoke run.
QUICK_REQUESTS = 3


#: One HTTP request as it went on the wire: method, absolute URL, headers, body.
WireRequest: TypeAlias = tuple[str, str, dict[str, str], bytes]
#: Headers aiohttp writes itself.
_OWN_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection", "user-agent"})


def _answer_key(adapter: Adapter[Any], method: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return (id(adapter), method, *(tuple(arg) if isinstance(arg, list | tuple) else arg for arg in args))


class CallRecorder:
    """Records the adapter calls each request makes, and their answers, so the same calls can be replayed
    without the hub and the hub can be run again with the answers served from memory."""

    def __init__(self, adapters: dict[str, Adapter[Any]]) -> None:
        self.current: list[Call] = []
        self.answers: dict[tuple[Any, ...], Any] = {}
        self._adapters = list(adapters.values())
        for adapter in self._adapters:
            for method in ("get_many", "find_related"):
                setattr(adapter, method, self._recording(adapter, method, getattr(adapter, method)))

    def _recording(
        self, adapter: Adapter[Any], name: str, method: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        async def call(*args: Any) -> Any:
            self.current.append((method, args))
            answer = await method(*args)
            self.answers[_answer_key(adapter, name, args)] = answer
            return answer

        return call

    def answer_from_memory(self) -> None:
        """From now on every adapter call returns its recorded answer at once (it must have been made)."""
        for adapter in self._adapters:
            for name in ("get_many", "find_related"):
                setattr(adapter, name, self._remembered(adapter, name))

    def _remembered(self, adapter: Adapter[Any], name: str) -> Callable[..., Awaitable[Any]]:
        answers = self.answers

        async def call(*args: Any) -> Any:
            return answers[_answer_key(adapter, name, args)]

        return call


class WireRecorder(httpx.AsyncBaseTransport):
    """Wraps an adapter's transport and keeps the HTTP requests of the current customer 360."""

    def __init__(self, inner: httpx.AsyncBaseTransport, sink: list[list[WireRequest]]) -> None:
        self.inner = inner
        self.sink = sink

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _OWN_HEADERS}
        self.sink[-1].append((request.method, str(request.url), headers, request.content))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def machine_floor(
    wire: list[list[WireRequest]], erp_calls: list[int], latency_ms: float
) -> list[float]:
    """Each 360's HTTP requests straight through aiohttp (bodies read, not decoded), all at once beside one
    bare ``latency_ms`` wait per ERP call: the floor of this machine, silo process and loopback network."""
    import aiohttp

    async def erp_call() -> None:
        await asyncio.sleep(latency_ms / 1000)

    async with aiohttp.ClientSession() as session:

        async def fetch(method: str, url: str, headers: dict[str, str], body: bytes) -> None:
            async with session.request(method, url, headers=headers, data=body or None) as response:
                await response.read()
                if response.status >= 400:
                    raise SystemExit(f"the raw replay of {method} {url.split('?')[0]} got {response.status}")

        async def one(requests: list[WireRequest], erp: int) -> float:
            started = time.perf_counter()
            await asyncio.gather(
                *(fetch(*request) for request in requests), *(erp_call() for _ in range(erp))
            )
            return time.perf_counter() - started

        await one(wire[0], erp_calls[0])  # aiohttp's connections, not measured
        return [await one(requests, erp) for requests, erp in zip(wire, erp_calls, strict=True)]


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
            adapters = {name: hub.sources.adapter(name) for name in hub.sources.names()}
            recorder = CallRecorder(adapters)
            wire: list[list[WireRequest]] = [[]]
            for adapter in adapters.values():
                http = getattr(adapter, "http", None)
                if http is not None:  # the REST adapters' UpstreamClient
                    http.transport = WireRecorder(http.transport, wire)

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

            asked = [customers[i % (len(customers) - 1)] for i in range(requests)]
            await ask(customers[-1])  # connections and the accounting OAuth token, not measured
            timings, recorded = [], []
            ticks, cpu = cpu_ticks(), time.process_time()
            for customer_id in asked:
                recorder.current = []
                wire.append([])
                timings.append(await ask(customer_id))
                recorded.append(recorder.current)
            cpu, steal = time.process_time() - cpu, steal_share(ticks, cpu_ticks())
            calls = {name: adapter.upstream_calls for name, adapter in adapters.items()}
            timed_wire = wire[1:]
            wire.append([])  # the replays below are not the hub's requests
            direct = [await replay(request_calls) for request_calls in recorded]
            erp = adapters["erp"]
            erp_calls = [
                len([method for method, _ in request_calls if getattr(method, "__self__", None) is erp])
                for request_calls in recorded
            ]
            floor = await machine_floor(timed_wire, erp_calls, latency_ms)
            recorder.answer_from_memory()
            hub_cpu = []
            for customer_id in asked:
                started_cpu = time.process_time()
                await ask(customer_id)
                hub_cpu.append(time.process_time() - started_cpu)
    p50 = statistics.median(timings)
    direct_p50 = statistics.median(direct)
    floor_p50 = statistics.median(floor)
    # The median, so a request that met a garbage collection or lost its core does not count for more
    # than one. Between runs the figure still moves (2.5-5 ms here): this machine's speed drifts by that
    # much within seconds, with the same code in the same process.
    hub_only_ms = statistics.median(hub_cpu) * 1000
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
        "machine_floor_p50_ms": floor_p50 * 1000,
        "machine_floor_ratio": floor_p50 / (latency_ms / 1000),
        "hub_only_cpu_ms": hub_only_ms,
        # About what a hub over adapters that cost nothing would take: the machine's floor plus the hub's own
        # work, which comes before the calls or after the answers and so does not overlap the wait.
        "zero_cost_adapters_ratio": (floor_p50 * 1000 + hub_only_ms) / latency_ms,
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
    parser.add_argument(
        "--loop",
        choices=("served", "asyncio"),
        default="served",
        help="the event loop: the one `crmhub serve` runs on (uvloop when installed), or asyncio's own",
    )
    args = parser.parse_args(argv)
    requests = QUICK_REQUESTS if args.quick else args.requests
    if args.loop == "asyncio":
        result, loop = asyncio.run(measure(args.latency_ms, requests)), "asyncio"
    else:
        result, loop = run_as_served(measure(args.latency_ms, requests)), served_loop()
    print(f"machine: {machine()}; event loop: {loop}")
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
    print()
    print("Where the time above the latency goes (same run):")
    print(
        table(
            [
                "this machine's floor: the same HTTP requests through bare aiohttp",
                "/ latency",
                "hub CPU per 360, adapters answering from memory (median)",
                "floor + that CPU: a hub over zero-cost adapters",
                "/ latency",
            ],
            [
                [
                    f"{result['machine_floor_p50_ms']:.1f} ms",
                    f"{result['machine_floor_ratio']:.3f}",
                    f"{result['hub_only_cpu_ms']:.1f} ms",
                    f"{result['machine_floor_p50_ms'] + result['hub_only_cpu_ms']:.1f} ms",
                    f"{result['zero_cost_adapters_ratio']:.3f}",
                ]
            ],
        )
    )
    return result


if __name__ == "__main__":
    main()
