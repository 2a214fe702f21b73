"""The hot-path changes keep their behaviour: orjson responses, one golden profile per customer and
request, the precomputed record mapping, the fast value conversions of the SQL adapter, and request URLs
parsed once per path."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import orjson

from adapters.sdk import Address, CustomerRecord, Entity, EntityMapping
from adapters.sdk.rest import urls as request_urls
from adapters.sdk.rest.urls import RequestUrls
from adapters.sql.values import _to_text, key_text
from hub.context import RequestContext
from hub.hub import Hub
from hub.services import customers as service
from schema import build_schema
from schema.view import GraphQLView

from .support.hub import gql


def test_view_encodes_with_orjson_and_falls_back_for_what_it_refuses() -> None:
    view = GraphQLView(None, schema=build_schema())
    data = {
        "data": {"customer": {"name": "Müller & Søn — Zürich", "total": "12.50", "tags": [1, None, True]}}
    }
    encoded = view.encode_json(data)
    assert isinstance(encoded, bytes)
    assert orjson.loads(encoded) == data
    assert b": " not in encoded and b", " not in encoded, "compact, as strawberry's own encoder writes it"
    huge = {"data": {"n": 2**70}}  # beyond orjson's 64-bit integers: the stdlib encoder writes it
    assert json.loads(view.encode_json(huge)) == huge


async def test_graphql_responses_are_valid_json(erp_hub: Hub, client: httpx.AsyncClient) -> None:
    status, body = await gql(
        client, "{ customers(first: 3) { edges { node { id name address { city } } } } }"
    )
    assert status == 200 and "errors" not in body
    assert len(body["data"]["customers"]["edges"]) == 3


async def test_the_golden_profile_is_assembled_once_per_customer_and_request(erp_hub: Hub) -> None:
    schema = build_schema()
    ctx = RequestContext.for_hub(erp_hub)
    query = (
        "{ customers(first: 5) { edges { node { id name legalName email phone website taxId industry } } } }"
    )
    result = await schema.execute(query, context_value=ctx)
    assert not result.errors, result.errors
    nodes = [edge["node"] for edge in result.data["customers"]["edges"]]  # type: ignore[index]
    profiles = ctx.extra[service._PROFILES]
    assert sorted(profiles) == sorted(node["id"] for node in nodes), "one profile per customer, not per field"
    page = await service.list_customers(ctx, first=1)
    (customer,) = page.items
    first = await service.customer_profile(ctx, customer=customer)
    assert await service.customer_profile(ctx, customer=customer) is first
    assert (customer.id, first.name) == (nodes[0]["id"], nodes[0]["name"])
    other = await service.customer_profile(RequestContext.for_hub(erp_hub), customer=customer)
    assert other is not first and other == first, "another request assembles its own, equal profile"


def test_mapping_build_fills_flat_nested_and_constant_fields() -> None:
    mapping = EntityMapping(
        Entity.CUSTOMER,
        {
            "external_id": "Id",
            "name": "Company.Name",
            "email": "mail",
            "address.city": "Addr.City",
            "address.country": "country",
        },
        constants={"industry": "retail", "address.region": "North"},
    )
    raw = {"Id": 7, "Company": {"Name": " Acme "}, "mail": None, "Addr": {"City": "Lyon"}, "country": "FR"}
    record = mapping.build("erp", raw)
    assert record == CustomerRecord(
        source="erp",
        external_id="7",
        name="Acme",
        industry="retail",
        address=Address(city="Lyon", country="FR", region="North"),
    )
    flat = mapping.build("erp", {"Id": "8", "Company.Name": "Flat Key Ltd"})  # a key with a dot in it
    assert flat.name == "Flat Key Ltd" and flat.address == Address(region="North")  # type: ignore[attr-defined]


def test_sql_value_fast_paths_keep_their_results() -> None:
    assert key_text(42) == "42" and key_text(" A1 ") == "A1" and key_text(True) == "True"
    assert key_text(1.5) == "1.5" and key_text(Decimal("2.50")) == "2.50"
    assert _to_text("EUR") == "EUR" and _to_text(7) == "7" and _to_text(True) is True


def test_settling_after_startup_freezes_and_widens_the_young_generation() -> None:
    import gc

    from hub.runtime import YOUNG_GENERATION_THRESHOLD, settle_after_startup

    saved = gc.get_threshold()
    try:
        settle_after_startup()
        assert gc.get_freeze_count() > 10_000, "what exists at start-up is frozen"
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, *saved[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)


URL_CASES = [
    ("http://api.test/v3/company/42/query", "query=select+%2A+from+Invoice+where+Id+in+%28%271%27%29"),
    ("http://127.0.0.1:8080/3.0/lists/6e36/members", "fields=members.id%2Cmembers.status&offset=0&count=10"),
    ("https://api.test:443/a/b/", "ids=1&ids=2&empty="),
    ("http://[::1]:9000/x", "a=1"),
    ("http://api.test/caf%C3%A9/ünïcode path", "q=%C3%A4+b"),
    ("http://api.test/../a/./b", "a=1"),
    ("http://api.test/p", ""),
    ("http://api.test/p#frag", "a=1"),  # the query lands in the fragment, as httpx parses that text
    ("http://api.test/p", "a=b c"),  # not what urlencode writes: parsed whole
    ("http://api.test/p", 'a=ä&b="x"'),
    ("http://api.test/p", "a=%zz"),
]


def test_request_urls_equal_the_urls_httpx_parses_from_the_whole_text() -> None:
    urls = RequestUrls()
    for path_url, query in URL_CASES * 2:  # the second round takes the parsed paths
        built = urls.url(path_url, query)
        expected = httpx.URL(f"{path_url}?{query}" if query else path_url)
        assert built == expected and hash(built) == hash(expected), (path_url, query)
        assert str(built) == str(expected)
        assert (built.raw_path, built.query, built.params, built.host, built.port, built.path) == (
            expected.raw_path,
            expected.query,
            expected.params,
            expected.host,
            expected.port,
            expected.path,
        )


def test_request_urls_attach_queries_without_parsing_them_on_this_httpx() -> None:
    """The point of ``RequestUrls``: if httpx changed how it stores URLs, every request would be parsed whole
    again (still correct, ~20 µs slower); this test says so."""
    assert request_urls._ATTACH_QUERIES
    urls = RequestUrls()
    first = urls.url("http://api.test/items", "a=1")
    second = urls.url("http://api.test/items", "a=2")
    assert first._uri_reference.path is second._uri_reference.path


def test_request_urls_keep_a_bounded_number_of_paths() -> None:
    urls = RequestUrls()
    for number in range(1000):
        assert str(urls.url(f"http://api.test/members/{number}", "a=1")).endswith(f"/{number}?a=1")
    assert len(urls._parsed) <= request_urls._PATHS_KEPT
