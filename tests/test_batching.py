"""Listing customers with their orders, lines and products costs one upstream query per level."""

from __future__ import annotations

import httpx

from adapters.sdk import Entity
from hub.hub import Hub

from .support.hub import gql

PAGE = """{ customers(first: 100) { edges { node {
    name creditTerms { creditLimit }
    orders(first: 50) { edges { node { total lines { amount product { name } } } } }
} } } }"""


def _calls(hub: Hub) -> dict[tuple[str, str], float]:
    counter = hub.metrics.upstream_requests
    totals: dict[tuple[str, str], float] = {}
    for metric in counter.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels["source"] == "erp":
                key = (sample.labels["entity"], sample.labels["operation"])
                totals[key] = totals.get(key, 0) + sample.value
    return totals


async def test_one_upstream_query_per_level(erp_hub: Hub, client: httpx.AsyncClient) -> None:
    adapter = erp_hub.sources.adapter("erp")
    calls_before, queries_before = _calls(erp_hub), adapter.upstream_calls
    status, body = await gql(client, PAGE)
    assert status == 200 and "errors" not in body, body
    edges = body["data"]["customers"]["edges"]
    assert len(edges) == 100
    lines = [line for e in edges for o in e["node"]["orders"]["edges"] for line in o["node"]["lines"]]
    assert len(lines) > 300, "the page really spans hundreds of orders and lines"
    made = {k: v - calls_before.get(k, 0) for k, v in _calls(erp_hub).items() if v - calls_before.get(k, 0)}
    assert made == {
        (Entity.CUSTOMER.value, "get_many"): 1,
        (Entity.CREDIT_TERMS.value, "find_related"): 1,
        (Entity.ORDER.value, "find_related"): 1,
        (Entity.ORDER_LINE.value, "find_related"): 1,
        (Entity.PRODUCT.value, "get_many"): 1,
    }
    # and the adapter really sent one SQL statement per level (no hidden per-key queries)
    assert adapter.upstream_calls - queries_before == 5
