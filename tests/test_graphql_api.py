"""The customer 360 over HTTP: listing, paging, lookup, and the GraphQL over HTTP rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from hub.hub import Hub
from hub.identity.normalize import fold

from .support.hub import GRAPHQL_RESPONSE, gql

LIST = """
query($first: Int, $after: String, $search: String) {
  customers(first: $first, after: $after, search: $search) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name } }
  }
}"""


async def test_the_readme_query_answers_with_erp_data(client: httpx.AsyncClient) -> None:
    query = "{ customers(first: 5) { edges { node { id name orders(first: 3) { edges { node { id total } } } } } } }"
    status, body = await gql(client, query)
    assert status == 200 and "errors" not in body
    edges = body["data"]["customers"]["edges"]
    assert len(edges) == 5
    names = [e["node"]["name"] for e in edges]
    assert names == sorted(names) and all(names)
    orders = [o for e in edges for o in e["node"]["orders"]["edges"]]
    assert orders, "generated customers have orders"
    assert all(Decimal(o["node"]["total"]) >= 0 for o in orders)
    assert all(len(e["node"]["orders"]["edges"]) <= 3 for e in edges)


async def test_walking_every_page_returns_each_customer_once(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    after = None
    total = None
    while True:
        status, body = await gql(client, LIST, {"first": 17, "after": after})
        assert status == 200, body
        page = body["data"]["customers"]
        total = page["totalCount"]
        seen += [e["node"]["id"] for e in page["edges"]]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == total
    assert total >= 100


async def test_search_filters_and_counts(client: httpx.AsyncClient) -> None:
    _, body = await gql(client, LIST, {"first": 1})
    name = body["data"]["customers"]["edges"][0]["node"]["name"]
    term = name.split()[0].upper()  # case-insensitive
    _, found = await gql(client, LIST, {"first": 100, "search": term})
    page = found["data"]["customers"]
    assert page["totalCount"] == len(page["edges"]) >= 1
    assert name in [e["node"]["name"] for e in page["edges"]]
    _, none = await gql(client, LIST, {"first": 5, "search": "%_no such company_%"})
    assert none["data"]["customers"]["totalCount"] == 0 and none["data"]["customers"]["edges"] == []


async def test_search_ignores_accents_and_spacing(client: httpx.AsyncClient) -> None:
    """An agent types "vazquez" for "Vázquez" and "dorschner" for "Dörschner", or the accents it knows."""
    _, body = await gql(client, LIST, {"first": 100})
    names = [e["node"]["name"] for e in body["data"]["customers"]["edges"]]
    accented = [n for n in names if not n.isascii() and not n.split()[0].isascii()]
    assert accented, "the generated companies include names with accents"
    name = accented[0]
    words = name.split()
    plain = fold(" ".join(words[:2]))
    assert plain != " ".join(words[:2]).lower()
    # Without the accents, upper-cased, with doubled spaces, the first word and the start of the second.
    for term in (plain, plain.upper(), "  ".join(plain.split()), f"{fold(words[0])} {fold(words[1])[:3]}"):
        _, found = await gql(client, LIST, {"first": 100, "search": term})
        assert name in [e["node"]["name"] for e in found["data"]["customers"]["edges"]], term
    _, found = await gql(client, LIST, {"first": 100, "search": words[0]})  # as written, accents and all
    assert name in [e["node"]["name"] for e in found["data"]["customers"]["edges"]]
    _, blank = await gql(client, LIST, {"first": 1, "search": "   "})  # no term: every customer
    assert blank["data"]["customers"]["totalCount"] == body["data"]["customers"]["totalCount"]
    _, too_long = await gql(client, LIST, {"first": 1, "search": "ä" * 201})
    assert too_long["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "search"}


async def test_customer_360_by_id(client: httpx.AsyncClient) -> None:
    _, body = await gql(client, LIST, {"first": 3})
    customer_id = body["data"]["customers"]["edges"][2]["node"]["id"]
    query = """query($id: ID!) { customer(id: $id) {
        id name email phone taxId address { city country }
        sources { source externalId rule }
        contacts { firstName lastName email }
        creditTerms { creditLimit paymentTermsDays onHold }
        orders(first: 2) { totalCount edges { node { number orderedAt total currency
            lines { description quantity unitPrice amount product { name sku } } } } }
    } }"""
    status, result = await gql(client, query, {"id": customer_id})
    assert status == 200 and "errors" not in result, result
    customer = result["data"]["customer"]
    assert customer["id"] == customer_id
    assert customer["sources"][0]["source"] == "erp" and customer["sources"][0]["rule"] == "seed"
    assert customer["address"]["country"] and len(customer["address"]["country"]) == 2
    assert customer["contacts"], "every generated company has contacts"
    for edge in customer["orders"]["edges"]:
        order = edge["node"]
        lines = order["lines"]
        # catalogue lines resolve their product; free-text lines (freight, services) have none
        assert lines and all(line["description"] for line in lines)
        assert all(line["product"]["name"] for line in lines if line["product"] is not None)
        assert sum(Decimal(line["amount"]) for line in lines) == Decimal(order["total"])
    products = [line["product"] for e in customer["orders"]["edges"] for line in e["node"]["lines"]]
    assert any(products)
    dates = [e["node"]["orderedAt"] for e in customer["orders"]["edges"]]
    assert dates == sorted(dates, reverse=True)


async def test_a_customer_and_its_links_take_one_read_on_the_loop_thread(
    client: httpx.AsyncClient, erp_hub: Hub
) -> None:
    _, body = await gql(client, LIST, {"first": 1})
    customer_id = body["data"]["customers"]["edges"][0]["node"]["id"]
    reads = erp_hub.db.inline_reads
    assert reads is not None, "the hub database is a SQLite file"

    async def reads_of(
        query: str, variables: dict[str, str] | None = None
    ) -> tuple[int, int, dict[str, Any]]:
        before, handed_over = reads.reads, reads.handed_over
        status, result = await gql(client, query, variables)
        assert status == 200 and "errors" not in result, result
        return reads.reads - before, reads.handed_over - handed_over, result["data"]

    # Whatever a request reads anyway (its caller's key, say), the customer adds exactly one read.
    baseline, _, _ = await reads_of("{ __typename }")
    query = "query($id: ID!) { customer(id: $id) { id sources { source externalId } } }"
    done, handed_over, data = await reads_of(query, {"id": customer_id})
    assert data["customer"]["sources"][0]["source"] == "erp"
    assert (done - baseline, handed_over) == (1, 0)


async def test_unknown_customer_is_null_without_error(client: httpx.AsyncClient) -> None:
    status, body = await gql(client, '{ customer(id: "cus_doesnotexist") { id name } }')
    assert status == 200
    assert body == {"data": {"customer": None}}


async def test_nested_order_pages_follow_their_cursors(client: httpx.AsyncClient) -> None:
    query = """query($first: Int!, $after: String) { customers(first: 1) { edges { node {
        orders(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } }
    } } } }"""
    _, body = await gql(client, query, {"first": 100})
    every = [e["node"]["id"] for e in body["data"]["customers"]["edges"][0]["node"]["orders"]["edges"]]
    walked: list[str] = []
    after = None
    while True:
        _, page_body = await gql(client, query, {"first": 2, "after": after})
        orders = page_body["data"]["customers"]["edges"][0]["node"]["orders"]
        walked += [e["node"]["id"] for e in orders["edges"]]
        if not orders["pageInfo"]["hasNextPage"]:
            break
        after = orders["pageInfo"]["endCursor"]
    assert walked == every and len(every) == orders["totalCount"]


async def test_malformed_query_is_a_request_error(client: httpx.AsyncClient) -> None:
    # graphql-response+json: a request error has no `data` and a 4xx status
    response = await client.post(
        "/graphql", json={"query": "{ customers(first: 5 { id }"}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    body = response.json()
    assert "data" not in body and body["errors"][0]["message"].startswith("Syntax Error")
    assert body["errors"][0]["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}
    # legacy application/json: 200 with the same errors
    legacy = await client.post(
        "/graphql", json={"query": "{ customers(first: 5 { id }"}, headers={"accept": "application/json"}
    )
    assert legacy.status_code == 200 and legacy.headers["content-type"].startswith("application/json")
    assert legacy.json()["errors"]


async def test_validation_error_and_unacceptable_media(client: httpx.AsyncClient) -> None:
    for _ in range(2):  # the second answer comes from the validation cache: labelled all the same
        status, body = await gql(client, "{ customers { nope } }")
        assert status == 400 and "Cannot query field 'nope'" in body["errors"][0]["message"]
        assert {error["extensions"]["code"] for error in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}
    response = await client.post(
        "/graphql", json={"query": "{ sources { name } }"}, headers={"accept": "text/html"}
    )
    assert response.status_code == 406
    response = await client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


async def test_bad_cursor_gives_a_clear_error(client: httpx.AsyncClient) -> None:
    for cursor in ("not-a-cursor", "WyJvdGhlciIsIDFd", ""):
        status, body = await gql(client, LIST, {"first": 2, "after": cursor})
        assert status == 200  # executed: a field error, not a request error
        assert body["data"] is None
        error = body["errors"][0]
        assert error["extensions"]["code"] == "INVALID_CURSOR"
        assert error["extensions"]["field"] == "after"
        assert "cursor" in error["message"]


async def test_page_size_is_bounded(client: httpx.AsyncClient) -> None:
    _, body = await gql(client, LIST, {"first": 10_000})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}
    _, body = await gql(client, LIST, {"first": -1})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_sources_report_health(client: httpx.AsyncClient) -> None:
    status, body = await gql(client, "{ sources { name adapter health latencyMs } }")
    assert status == 200
    (erp,) = body["data"]["sources"]
    assert erp["name"] == "erp" and erp["adapter"] == "sql" and erp["health"] == "UP"
    assert erp["latencyMs"] >= 0


async def test_graphiql_metrics_and_health(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    await gql(client, "{ customers(first: 2) { edges { node { name } } } }")
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert (
        'crmhub_upstream_requests_total{entity="customer",operation="get_many",outcome="ok",source="erp"}'
        in metrics.text
    )
    assert "crmhub_upstream_latency_seconds_bucket" in metrics.text
    assert (await client.get("/health")).json() == {"status": "ok"}
