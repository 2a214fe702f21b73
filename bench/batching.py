"""Upstream calls for one page of 100 customers with orders, lines and products.

The hub (per-request DataLoaders) is measured against a naive resolver that asks the adapter once per
customer, per order and per line, over the same generated ERP database, counting real SQL statements.

    python -m bench.batching [--size 300]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from adapters.sdk import Entity, Order, OrderLine
from bench.common import machine, table

PAGE_QUERY = """{ customers(first: 100) { edges { node {
    name orders(first: 100) { edges { node { total lines { amount product { name } } } } }
} } } }"""
LEVELS = 4  # customers, orders, lines, products


async def measure(size: int) -> dict[str, float]:
    from hub.context import RequestContext
    from hub.demo import demo_hub
    from hub.services import customers as service
    from schema import build_schema

    with tempfile.TemporaryDirectory() as tmp:
        async with demo_hub(Path(tmp), size=size, seed=42, crm=False) as hub:
            adapter = hub.sources.adapter("erp")
            schema = build_schema()

            before = adapter.upstream_calls
            started = time.perf_counter()
            result = await schema.execute(PAGE_QUERY, context_value=RequestContext.for_hub(hub))
            hub_seconds = time.perf_counter() - started
            assert not result.errors, result.errors
            hub_calls = adapter.upstream_calls - before

            # The naive resolver: one upstream read per parent object.
            ctx = RequestContext.for_hub(hub)
            page = await service.list_customers(ctx, first=100)
            before = adapter.upstream_calls
            started = time.perf_counter()
            lines_seen = 0
            for customer in page.items:
                links = await service.customer_links(ctx, customer=customer)
                # identity resolution also links the customer's records in the other silos
                link = next(lk for lk in links if lk.source == "erp" and lk.entity == Entity.CUSTOMER.value)
                await adapter.get_many(Entity.CUSTOMER, [link.external_id])
                (orders,) = await adapter.find_related(
                    Entity.ORDER, "customer_external_id", [link.external_id]
                )
                for order in orders:
                    assert isinstance(order, Order)
                    (lines,) = await adapter.find_related(
                        Entity.ORDER_LINE, "order_external_id", [order.external_id]
                    )
                    for line in lines:
                        assert isinstance(line, OrderLine)
                        lines_seen += 1
                        await adapter.get_many(Entity.PRODUCT, [line.product_external_id or ""])
            naive_seconds = time.perf_counter() - started
            naive_calls = adapter.upstream_calls - before
    return {
        "hub_calls": hub_calls,
        "naive_calls": naive_calls,
        "hub_seconds": hub_seconds,
        "naive_seconds": naive_seconds,
        "lines": lines_seen,
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=300, help="ERP customers to generate (>= 100)")
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(max(args.size, 100)))
    sources = 1
    print(
        f"batching: 100 customers with orders, lines, products ({int(figures['lines'])} lines) — {machine()}"
    )
    print(
        table(
            ["resolver", "upstream calls", "calls / (sources x levels)", "seconds"],
            [
                [
                    "crmhub (DataLoaders)",
                    int(figures["hub_calls"]),
                    f"{figures['hub_calls'] / (sources * LEVELS):.2f}",
                    f"{figures['hub_seconds']:.3f}",
                ],
                [
                    "naive per-object",
                    int(figures["naive_calls"]),
                    f"{figures['naive_calls'] / (sources * LEVELS):.2f}",
                    f"{figures['naive_seconds']:.3f}",
                ],
            ],
        )
    )
    print(f"goal: crmhub ratio 1.0 -> {'met' if figures['hub_calls'] == sources * LEVELS else 'NOT met'}")
    return figures


if __name__ == "__main__":
    main()
