"""Hot paths of the hub, timed (and with ``--profile``, profiled with pyinstrument) in one process:

* a customer 360 page: 100 customers with their golden profile, contacts, credit terms and orders with
  lines and products, executed by the GraphQL schema over the generated ERP (``schema.execute``);
* encoding that page's response as the ``/graphql`` view does;
* the bulk export service: pages of 1000 customers with their order totals, encoded as NDJSON.

Figures are the best of ``--repeat`` runs (milliseconds), so a shared machine's noise counts least.

    python -m bench.hotpaths [--size 1000] [--repeat 5] [--profile page|export]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.common import machine, table

PAGE_360 = """{ customers(first: 100) { edges { node {
    id name legalName email phone website taxId industry
    address { street city postalCode country }
    sources { source externalId }
    contacts { firstName lastName email }
    creditTerms { creditLimit paymentTermsDays onHold }
    orders(first: 20) { totalCount edges { node {
        number orderedAt status currency total
        lines { quantity unitPrice amount product { name sku } }
    } } }
} } } }"""


async def _best(repeat: int, run: Callable[[], Awaitable[Any]]) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        timings.append(time.perf_counter() - started)
    return min(timings) * 1000


async def measure(size: int, repeat: int, profile: str | None) -> dict[str, float]:
    import orjson

    from hub.context import RequestContext
    from hub.demo import demo_hub
    from hub.runtime import settle_after_startup
    from hub.services.export import ExportOptions, export_customers
    from schema import build_schema
    from schema.view import GraphQLView

    with tempfile.TemporaryDirectory() as tmp:
        async with demo_hub(Path(tmp), size=size, seed=42, crm=False) as hub:
            schema = build_schema()
            view = GraphQLView(hub, schema=schema)
            settle_after_startup()  # as the app does once it has started
            response: dict[str, Any] = {}

            async def page() -> None:
                result = await schema.execute(PAGE_360, context_value=RequestContext.for_hub(hub))
                assert not result.errors, result.errors
                response["data"] = result.data

            async def export() -> None:
                options = ExportOptions(limit=min(size, 1000))
                async for rows in export_customers(RequestContext.for_hub(hub), options):
                    b"".join([orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE) for row in rows])

            await page()
            await export()
            figures = {
                "page_ms": await _best(repeat, page),
                "export_1000_ms": await _best(repeat, export),
            }
            started = time.perf_counter()
            for _ in range(repeat * 4):
                encoded = view.encode_json(response)
            figures["encode_ms"] = (time.perf_counter() - started) * 1000 / (repeat * 4)
            figures["stdlib_encode_ms"] = _stdlib_encode_ms(response, repeat * 4)
            figures["response_kb"] = len(encoded) / 1024
            if profile:
                from pyinstrument import Profiler

                profiler = Profiler(async_mode="enabled")
                with profiler:
                    for _ in range(repeat):
                        await (page() if profile == "page" else export())
                profiler.print(show_all=False)
    return figures


def _stdlib_encode_ms(data: Any, times: int) -> float:
    started = time.perf_counter()
    for _ in range(times):
        json.dumps(data, separators=(",", ":"))
    return (time.perf_counter() - started) * 1000 / times


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="generated ERP customers (>= 100)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", choices=["page", "export"], help="print a pyinstrument profile")
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(max(args.size, 100), max(args.repeat, 1), args.profile))
    print(f"hot paths ({args.size} ERP customers, best of {args.repeat}) — {machine()}")
    print(
        table(
            ["path", "ms"],
            [
                ["customer 360 page (100 customers, orders, lines, products)", f"{figures['page_ms']:.1f}"],
                [
                    f"encode that response ({figures['response_kb']:.0f} KB), as the view does",
                    f"{figures['encode_ms']:.2f}",
                ],
                ["  the same with the stdlib json module", f"{figures['stdlib_encode_ms']:.2f}"],
                ["export service, 1000 customers with order totals", f"{figures['export_1000_ms']:.1f}"],
            ],
        )
    )
    return figures


if __name__ == "__main__":
    main()
