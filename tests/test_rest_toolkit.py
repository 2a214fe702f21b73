"""The REST toolkit against real HTTP servers: paginators, batching, loop guards, error mapping.

Retry-After handling uses ``httpx.MockTransport``: a 429 schedule is a narrow edge case that a mock
describes exactly. Authenticators are covered in ``test_rest_auth.py``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters.sdk import (
    AdapterConfigError,
    AdapterError,
    Entity,
    EntityMapping,
    MalformedResponseError,
    RecordValidationError,
    UnsupportedEntityError,
    UpstreamAuthError,
    UpstreamRateLimitedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from adapters.sdk.rest import (
    CursorPaginator,
    Endpoint,
    OffsetPaginator,
    PageNumberPaginator,
    PageRequest,
    PageResponse,
    Paginator,
    RESTAdapter,
    RESTConfig,
    RetryPolicy,
    SinglePage,
    UpstreamClient,
    next_link,
    parse_link_header,
    parse_retry_after,
    redact_url,
)
from adapters.sdk.rest.transport import UpstreamTransport
from tests.support.helpdesk import INVOICES, ORGS, TOKEN, USERS, DeskAdapter, build_app, desk_adapter
from tests.support.http_server import black_hole, closed_port, hang_up, serve_app
from tests.support.rest_upstreams import faulty_app

CUSTOMER = EntityMapping(Entity.CUSTOMER, {"external_id": "id", "name": "name"})


@pytest.fixture(scope="module")
async def desk_app() -> AsyncIterator[tuple[Starlette, str]]:
    app = build_app()
    async with serve_app(app) as url:
        yield app, url


@pytest.fixture
async def desk(desk_app: tuple[Starlette, str]) -> AsyncIterator[DeskAdapter]:
    app, url = desk_app
    app.state.log.clear()
    adapter = desk_adapter(url)
    yield adapter
    await adapter.aclose()


@pytest.fixture(scope="module")
async def faulty_url() -> AsyncIterator[str]:
    async with serve_app(faulty_app()) as url:
        yield url


def one_endpoint_adapter(
    base_url: str, path: str, *, paginator: Paginator | None = None, record_path: str = "data", **config: Any
) -> RESTAdapter[RESTConfig]:
    class OneEndpoint(RESTAdapter[RESTConfig]):
        name = "one"
        config_model = RESTConfig
        endpoints = {
            Entity.CUSTOMER: Endpoint(
                path=path, record_path=record_path, mapping=CUSTOMER, paginator=paginator or SinglePage()
            )
        }

    return OneEndpoint(source="faulty", config=RESTConfig(base_url=base_url, **config))


async def scan_ids(adapter: RESTAdapter[Any], entity: Entity, since: datetime | None = None) -> list[str]:
    return [record.external_id async for record in adapter.scan(entity, since)]


def paths(app: Starlette, prefix: str) -> list[tuple[str, str]]:
    return [entry for entry in app.state.log if entry[0].startswith(prefix)]


# -- paginators over the wire -----------------------------------------------------------------------


async def test_cursor_paginator_follows_next_urls_to_the_end(desk: DeskAdapter, desk_app: Any) -> None:
    assert await scan_ids(desk, Entity.CUSTOMER) == [str(org["id"]) for org in ORGS]
    calls = paths(desk_app[0], "/api/v2/organizations")
    assert len(calls) == 3  # 23 organizations, 10 per page
    assert "page%5Bafter%5D" in calls[1][1] and "page%5Bsize%5D=10" in calls[1][1]


async def test_offset_paginator_stops_at_the_total(desk: DeskAdapter, desk_app: Any) -> None:
    assert await scan_ids(desk, Entity.CONTACT) == [str(user["id"]) for user in USERS]
    offsets = [query for _, query in paths(desk_app[0], "/api/v2/users")]
    assert offsets == [f"offset={n}&count=10" for n in range(0, 60, 10)]


async def test_page_number_paginator_stops_at_total_pages(desk: DeskAdapter, desk_app: Any) -> None:
    assert len(await scan_ids(desk, Entity.TICKET)) == 40
    assert [query for _, query in paths(desk_app[0], "/api/v2/tickets")] == [
        f"page={n}&per_page=10" for n in range(1, 5)
    ]


async def test_link_header_paginator_follows_relative_next_links(desk: DeskAdapter, desk_app: Any) -> None:
    assert await scan_ids(desk, Entity.PRODUCT) == [f"P{n}" for n in range(12)]
    assert len(paths(desk_app[0], "/api/v2/products")) == 3


async def test_offset_window_inside_query_text(desk: DeskAdapter, desk_app: Any) -> None:
    invoices = [record async for record in desk.scan(Entity.INVOICE)]
    assert [invoice.external_id for invoice in invoices] == [row["Id"] for row in INVOICES]
    assert invoices[0].total == 100 and invoices[0].currency == "USD"
    queries = [httpx.QueryParams(query)["query"] for _, query in paths(desk_app[0], "/v3/company/9130/")]
    # The fourth page is empty and, QuickBooks style, has no Invoice key at all.
    assert queries == [f"select * from Invoice STARTPOSITION {n} MAXRESULTS 10" for n in (1, 11, 21, 31)]


async def test_scan_since_sends_the_filter_and_narrows(desk: DeskAdapter, desk_app: Any) -> None:
    since = datetime(2024, 1, 20, 12, tzinfo=UTC)
    assert await scan_ids(desk, Entity.CUSTOMER, since) == ["21", "22", "23"]
    assert "updated_since=2024-01-20T12%3A00%3A00%2B00%3A00" in paths(desk_app[0], "/api/v2/org")[0][1]


def _page(body: Any, link: str | None = None, url: str = "http://api.test/items?page=1") -> PageResponse:
    headers = httpx.Headers({"Link": link} if link else {})
    return PageResponse(body=body, headers=headers, url=httpx.URL(url))


def test_cursor_paginator_sends_cursor_tokens_back() -> None:
    paginator = CursorPaginator(
        "meta.next_cursor", cursor_param="cursor", page_size=50, page_size_param="limit"
    )
    first = paginator.first_request(PageRequest("/items"))
    assert first.params == {"limit": "50"}
    second = paginator.next_request(first, _page({"meta": {"next_cursor": "c2"}}), 50)
    assert second is not None and second.params == {"limit": "50", "cursor": "c2"}
    assert paginator.next_request(second, _page({"meta": {"next_cursor": None}}), 50) is None
    assert paginator.next_request(second, _page({"meta": {}}), 50) is None


def test_cursor_paginator_honours_has_more() -> None:
    paginator = CursorPaginator("links.next", has_more_path="meta.has_more")
    body = {"links": {"next": "/items?page[after]=x"}, "meta": {"has_more": False}}
    assert paginator.next_request(PageRequest("/items"), _page(body), 10) is None
    body["meta"] = {"has_more": True}
    following = paginator.next_request(PageRequest("/items"), _page(body), 10)
    assert following is not None and following.url == "http://api.test/items?page[after]=x"


def test_offset_paginator_without_total_stops_on_a_short_page() -> None:
    paginator = OffsetPaginator(limit=10)
    first = paginator.first_request(PageRequest("/items", {"sort": "id"}))
    assert first.params == {"sort": "id", "offset": "0", "limit": "10"}
    second = paginator.next_request(first, _page([]), 10)
    assert second is not None and second.params["offset"] == "10"
    assert paginator.next_request(second, _page([]), 3) is None
    assert paginator.next_request(second, _page([]), 0) is None


def test_offset_paginator_rejects_half_a_query_window() -> None:
    with pytest.raises(ValueError, match="go together"):
        OffsetPaginator(query_param="query")


def test_page_number_paginator_without_total_stops_on_a_short_page() -> None:
    paginator = PageNumberPaginator(page_size=5)
    first = paginator.first_request(PageRequest("/items"))
    second = paginator.next_request(first, _page({}), 5)
    assert second is not None and second.params == {"page": "2", "per_page": "5"}
    assert paginator.next_request(second, _page({}), 4) is None


def test_link_header_parsing() -> None:
    header = (
        '<https://api.test/items?page=3>; rel="next last"; title="p, 3", '
        '<https://api.test/items?page=1>; rel=first, </items?page=1>;rel="prev"'
    )
    links = parse_link_header(header)
    assert [url for url, _ in links] == [
        "https://api.test/items?page=3",
        "https://api.test/items?page=1",
        "/items?page=1",
    ]
    assert links[0][1] == {"rel": "next last", "title": "p, 3"}
    assert next_link(header) == "https://api.test/items?page=3"
    assert next_link('<https://api.test/items?page=1>; rel="prev"') is None
    assert next_link(None) is None


# -- loop guards and malformed answers --------------------------------------------------------------


async def test_a_repeated_cursor_raises_instead_of_looping(faulty_url: str) -> None:
    adapter = one_endpoint_adapter(faulty_url, "/same-cursor", paginator=CursorPaginator("next", "cursor"))
    with pytest.raises(MalformedResponseError, match="already read"):
        await scan_ids(adapter, Entity.CUSTOMER)
    assert adapter.requests_sent == 2
    await adapter.aclose()


async def test_a_paginator_past_the_page_cap_raises(faulty_url: str) -> None:
    adapter = one_endpoint_adapter(
        faulty_url, "/endless", paginator=CursorPaginator("next", "cursor"), max_pages=5
    )
    with pytest.raises(MalformedResponseError, match="did not stop after 5 pages"):
        await scan_ids(adapter, Entity.CUSTOMER)
    assert adapter.requests_sent == 5
    await adapter.aclose()


async def test_a_next_link_to_another_host_is_not_followed(faulty_url: str) -> None:
    adapter = one_endpoint_adapter(faulty_url, "/offsite", paginator=CursorPaginator("next"))
    with pytest.raises(MalformedResponseError, match=r"another host \(198\.51\.100\.7\)"):
        await scan_ids(adapter, Entity.CUSTOMER)
    assert adapter.requests_sent == 1
    await adapter.aclose()


@pytest.mark.parametrize(
    ("path", "record_path", "error", "message"),
    [
        ("/not-a-list", "data", MalformedResponseError, "holds dict, not a list"),
        ("/not-records", "data", MalformedResponseError, "holds a int where a record object"),
        ("/wrong-path", "data", MalformedResponseError, "no record path 'data'"),
        ("/not-json", "data", MalformedResponseError, r"not JSON \(text/html"),
        ("/invalid-record", "data", RecordValidationError, "does not fit customer: name"),
    ],
)
async def test_malformed_answers_raise_typed_errors(
    faulty_url: str, path: str, record_path: str, error: type[AdapterError], message: str
) -> None:
    adapter = one_endpoint_adapter(faulty_url, path, record_path=record_path)
    with pytest.raises(error, match=message) as caught:
        await scan_ids(adapter, Entity.CUSTOMER)
    assert caught.value.source == "faulty"
    await adapter.aclose()


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (500, UpstreamUnavailableError),
        (503, UpstreamUnavailableError),
        (401, UpstreamAuthError),
        (403, UpstreamAuthError),
        (404, AdapterError),
    ],
)
async def test_http_statuses_map_to_sdk_errors(faulty_url: str, code: int, error: type[AdapterError]) -> None:
    adapter = one_endpoint_adapter(faulty_url, f"/status/{code}")
    with pytest.raises(error) as caught:
        await scan_ids(adapter, Entity.CUSTOMER)
    assert type(caught.value) is error
    assert str(code) in caught.value.message and caught.value.entity == "customer"
    await adapter.aclose()


async def test_refused_connections_and_silence_map_to_unavailable_and_timeout() -> None:
    down = one_endpoint_adapter(f"http://127.0.0.1:{closed_port()}", "/items")
    with pytest.raises(UpstreamUnavailableError, match="ConnectError"):
        await scan_ids(down, Entity.CUSTOMER)
    await down.aclose()
    async with black_hole() as url:
        silent = one_endpoint_adapter(url, "/items", timeout_seconds=0.2)
        started = time.perf_counter()
        with pytest.raises(UpstreamTimeoutError):
            await scan_ids(silent, Entity.CUSTOMER)
        assert time.perf_counter() - started < 2
        await silent.aclose()


async def test_a_source_that_hangs_up_is_unavailable_not_timed_out() -> None:
    async with hang_up() as url:
        adapter = one_endpoint_adapter(url, "/items", timeout_seconds=5)
        started = time.perf_counter()
        with pytest.raises(UpstreamUnavailableError) as caught:
            await scan_ids(adapter, Entity.CUSTOMER)
        assert time.perf_counter() - started < 2
        assert not isinstance(caught.value, UpstreamTimeoutError)
        assert "timed out" not in str(caught.value)
        await adapter.aclose()


async def test_request_urls_are_the_ones_httpx_would_build() -> None:
    """The client joins base URL, path and parameters itself (one URL parse per request); the result must
    be what httpx's own joining gives, for relative paths under a base path, quoting, repeated parameters
    and links that bring a query of their own."""
    seen: list[str] = []
    transport = httpx.MockTransport(
        lambda request: seen.append(str(request.url)) or httpx.Response(200, json={})
    )
    base = "http://api.test/v3/company/42"
    client = UpstreamClient(base, source="one", transport=transport)
    reference = httpx.AsyncClient(base_url=base)
    cases = [
        PageRequest(
            "/query", {"query": "select * from Invoice where CustomerRef in ('1', '2') MAXRESULTS 5"}
        ),
        PageRequest("items", {"id": ["1", "2"], "q": "ä&b=c #x"}),
        PageRequest("/plain"),
        PageRequest("http://api.test/v3/company/42/query?page=2", {"size": "10"}),
        PageRequest("/query?page=2&size=5", {"size": "10"}),
    ]
    for request in cases:
        await client.send(request)
        query = [
            (k, v)
            for k, values in request.params.items()
            for v in ([values] if isinstance(values, str) else values)
        ]
        expected = httpx.URL(str(reference.build_request("GET", request.url).url))
        expected = expected.copy_merge_params(httpx.QueryParams(query)) if query else expected
        assert httpx.URL(seen[-1]) == expected, request
        assert httpx.URL(seen[-1]).params == expected.params
    await client.aclose()
    await reference.aclose()


async def test_error_messages_never_show_credentials(faulty_url: str) -> None:
    port = faulty_url.rsplit(":", 1)[1]
    adapter = one_endpoint_adapter(f"http://reader:hunter2@127.0.0.1:{port}", "/status/503?token=abc123")
    with pytest.raises(UpstreamUnavailableError) as caught:
        await scan_ids(adapter, Entity.CUSTOMER)
    assert "hunter2" not in str(caught.value) and "abc123" not in str(caught.value)
    assert f"http://127.0.0.1:{port}/status/503" in str(caught.value)
    await adapter.aclose()


def test_redact_url_drops_userinfo_and_query() -> None:
    assert redact_url("https://u:p@api.test:8443/v1/x?api_key=k#f") == "https://api.test:8443/v1/x"


# -- Retry-After ------------------------------------------------------------------------------------


def rate_limited(schedule: list[httpx.Response]) -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return schedule[min(len(seen), len(schedule)) - 1]

    return seen, httpx.MockTransport(handler)


def too_many(retry_after: str | None) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": retry_after} if retry_after is not None else {})


OK = httpx.Response(200, json={"data": []})


@pytest.mark.parametrize(
    "retry_after",
    ["0", "0.05", format_datetime(datetime.now(UTC) - timedelta(minutes=1), usegmt=True)],
    ids=["seconds", "fraction", "http-date-past"],
)
async def test_429_is_retried_after_the_announced_wait(retry_after: str) -> None:
    seen, transport = rate_limited([too_many(retry_after), OK])
    client = UpstreamClient("http://api.test", source="t", transport=transport)
    page = await client.send(PageRequest("/items"))
    assert page.body == {"data": []} and len(seen) == 2 and client.requests_sent == 2
    await client.aclose()


async def test_429_asking_for_more_than_the_budget_fails_at_once() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    seen, transport = rate_limited([too_many(later), OK])
    client = UpstreamClient("http://api.test", source="t", transport=transport, retry=RetryPolicy(5, 30))
    with pytest.raises(UpstreamRateLimitedError) as caught:
        await client.send(PageRequest("/items"))
    assert len(seen) == 1 and caught.value.retry_after is not None and caught.value.retry_after > 3000
    await client.aclose()


async def test_429_gives_up_after_the_attempt_budget() -> None:
    seen, transport = rate_limited([too_many("0")])
    client = UpstreamClient("http://api.test", source="t", transport=transport, retry=RetryPolicy(3, 30))
    with pytest.raises(UpstreamRateLimitedError, match="after 3 attempt"):
        await client.send(PageRequest("/items"))
    assert len(seen) == 3
    await client.aclose()


async def test_429_without_retry_after_backs_off_exponentially() -> None:
    seen, transport = rate_limited([too_many(None), too_many(None), OK])
    policy = RetryPolicy(max_attempts=3, max_wait_seconds=1, default_wait_seconds=0.05)
    client = UpstreamClient("http://api.test", source="t", transport=transport, retry=policy)
    started = time.perf_counter()
    await client.send(PageRequest("/items"))
    assert len(seen) == 3 and time.perf_counter() - started >= 0.15  # 0.05 then 0.10
    await client.aclose()


def test_parse_retry_after() -> None:
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now=now) == 30
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0
    assert parse_retry_after("-5", now=now) == 0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


# -- batching -----------------------------------------------------------------------------------------


async def test_get_many_sends_one_request_per_chunk(desk: DeskAdapter, desk_app: Any) -> None:
    keys = [str(n) for n in range(23, 0, -1)]
    found = await desk.get_many(Entity.CUSTOMER, [*keys, "23", "999"])
    assert [record.external_id if record else None for record in found] == [*keys, "23", None]
    calls = paths(desk_app[0], "/api/v2/organizations/show_many")
    assert (
        len(calls) == 3 == desk.requests_sent == desk.upstream_calls
    )  # 23 keys (+1 unknown) in chunks of 10
    assert all(len(httpx.QueryParams(query)["ids"].split(",")) <= 10 for _, query in calls)
    assert await desk.get_many(Entity.CUSTOMER, []) == []


async def test_find_related_groups_by_value_in_few_requests(desk: DeskAdapter, desk_app: Any) -> None:
    orgs = [str(n) for n in range(1, 13)]
    grouped = await desk.find_related(Entity.CONTACT, "customer_external_id", [*orgs, "1", "404"])
    for org, contacts in zip([*orgs, "1", "404"], grouped, strict=True):
        assert sorted(c.external_id for c in contacts) == sorted(
            str(user["id"]) for user in USERS if str(user["organization_id"]) == org
        )
    assert len(paths(desk_app[0], "/api/v2/users")) == 3  # 13 distinct values in chunks of 5


async def test_find_related_with_repeated_parameters(desk: DeskAdapter, desk_app: Any) -> None:
    grouped = await desk.find_related(Entity.TICKET, "customer_external_id", ["2", "3"])
    assert all(t.customer_external_id == "2" for t in grouped[0]) and len(grouped[0]) == 2
    assert paths(desk_app[0], "/api/v2/tickets")[0][1].startswith("organization_id=2&organization_id=3")


async def test_query_language_values_are_escaped(desk: DeskAdapter, desk_app: Any) -> None:
    found = await desk.get_many(Entity.INVOICE, ["5001", "x') or Id in ('5002"])
    assert [record.external_id if record else None for record in found] == ["5001", None]
    sent = httpx.QueryParams(paths(desk_app[0], "/v3/")[0][1])["query"]
    assert sent == "select * from Invoice where Id in ('5001','x\\') or Id in (\\'5002')"


async def test_unsupported_reads_raise(desk: DeskAdapter) -> None:
    with pytest.raises(UnsupportedEntityError, match="by 'email'"):
        await desk.find_related(Entity.CONTACT, "email", ["a@b.c"])
    with pytest.raises(UnsupportedEntityError, match="does not provide payment"):
        await desk.get_many(Entity.PAYMENT, ["1"])
    with pytest.raises(UnsupportedEntityError, match="by 'customer_external_id'"):
        await desk.find_related(Entity.CUSTOMER, "customer_external_id", ["1"])


# -- configuration, health, lifecycle ---------------------------------------------------------------


def test_path_placeholders_come_from_the_config(desk_app: Any) -> None:
    adapter = desk_adapter(desk_app[1], realm_id="a/b c")
    assert adapter.build_scan_request(Entity.INVOICE).url == "/v3/company/a%2Fb%20c/query"

    class NeedsTenant(DeskAdapter):
        endpoints = {Entity.CUSTOMER: Endpoint(path="/t/{tenant}/orgs", mapping=CUSTOMER)}

    with pytest.raises(AdapterConfigError, match=r"needs \{tenant\}"):
        NeedsTenant.from_config(source="x", config={"base_url": desk_app[1], "token": TOKEN})

    class TokenInPath(DeskAdapter):
        endpoints = {Entity.CUSTOMER: Endpoint(path="/t/{token}/orgs", mapping=CUSTOMER)}

    with pytest.raises(AdapterConfigError, match=r"\{token\}, a secret") as caught:
        TokenInPath.from_config(source="x", config={"base_url": desk_app[1], "token": TOKEN})
    assert TOKEN not in str(caught.value)


def test_endpoint_declarations_are_checked_at_start_up() -> None:
    class Forgetful(RESTAdapter[RESTConfig]):
        name = "forgetful"
        config_model = RESTConfig

    with pytest.raises(TypeError, match="Forgetful must declare endpoints"):
        Forgetful.from_config(source="f", config={"base_url": "https://api.test"})

    class Crossed(Forgetful):
        endpoints = {Entity.CONTACT: Endpoint(path="/orgs", mapping=CUSTOMER)}

    with pytest.raises(AdapterConfigError, match="endpoint declared for contact maps customer"):
        Crossed.from_config(source="f", config={"base_url": "https://api.test"})

    class QueryWindowWithoutQuery(Forgetful):
        paginator = OffsetPaginator(query_param="q", query_suffix=" LIMIT {limit} OFFSET {offset}")
        endpoints = {Entity.CUSTOMER: Endpoint(path="/orgs", mapping=CUSTOMER, paginator=paginator)}

    with pytest.raises(AdapterConfigError, match=r"paginator of customer cannot shape .* no 'q' query"):
        QueryWindowWithoutQuery.from_config(source="f", config={"base_url": "https://api.test"})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"base_url": "ftp://files.test", "token": "t"}, "config.base_url: .*http"),
        ({"base_url": "https://api.test?key=1", "token": "t"}, "config.base_url: .*query string"),
        ({"base_url": "https://api.test"}, "config.token: Field required"),
        ({"base_url": "https://api.test", "token": "t", "timeout_seconds": 0}, "config.timeout_seconds"),
    ],
)
def test_bad_config_is_a_clear_error(config: dict[str, Any], message: str) -> None:
    with pytest.raises(AdapterConfigError, match=message):
        DeskAdapter.from_config(source="desk", config=config)


async def test_check_reports_health_without_raising(desk: DeskAdapter) -> None:
    assert (await desk.check()).ok
    down = desk_adapter(f"http://127.0.0.1:{closed_port()}")
    health = await down.check()
    assert not health.ok and health.detail is not None and health.detail.startswith("SOURCE_UNAVAILABLE")
    await down.aclose()


async def test_wrong_token_is_an_auth_error_that_hides_the_token(desk_app: Any) -> None:
    adapter = desk_adapter(desk_app[1], token="not-the-token")
    with pytest.raises(UpstreamAuthError) as caught:
        await adapter.get_many(Entity.CUSTOMER, ["1"])
    assert "not-the-token" not in str(caught.value) and "401" in caught.value.message
    await adapter.aclose()


async def test_aclose_releases_the_transport(desk: DeskAdapter) -> None:
    await desk.check()
    transport = desk.http.transport
    assert isinstance(transport, UpstreamTransport)
    pool = transport.client
    await desk.aclose()
    assert pool.closed
    assert (await desk.check()).ok  # a later call opens a fresh transport rather than failing
    assert desk.http.transport is not transport


async def test_compressed_answers_are_decoded() -> None:
    """The transport reads the raw bytes and leaves decoding to httpx: a gzip answer reaches the adapter as
    JSON, with the headers the upstream sent."""
    rows = [{"id": str(number), "name": f"Customer {number} " + "x" * 40} for number in range(200)]

    async def listing(request: Request) -> JSONResponse:
        return JSONResponse({"items": rows, "echo": request.headers.get("accept-encoding", "")})

    app = GZipMiddleware(Starlette(routes=[Route("/items", listing)]), minimum_size=100)
    async with serve_app(app) as url:
        client = UpstreamClient(url, source="gzipped")
        answer = await client.send(PageRequest("/items"))
        await client.aclose()
    assert answer.headers["content-encoding"] == "gzip", "the upstream must have compressed the answer"
    assert answer.body["items"] == rows
    assert "gzip" in answer.body["echo"]


async def test_the_transport_sends_headers_as_given_and_returns_read_closed_responses() -> None:
    """Repeated headers arrive as repeats, and a response leaves the transport as httpx's ``read()`` leaves
    one: its body there, its stream closed."""

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"tags": request.headers.getlist("x-tag"), "accept": request.headers["accept"]})

    async with serve_app(Starlette(routes=[Route("/echo", echo)])) as url:
        transport = UpstreamTransport()
        request = httpx.Request(
            "GET", f"{url}/echo", headers=[("Accept", "application/json"), ("X-Tag", "a"), ("X-Tag", "b")]
        )
        response = await transport.handle_async_request(request)
        await transport.aclose()
    assert response.is_closed and response.status_code == 200
    assert response.json() == {"tags": ["a", "b"], "accept": "application/json"}
    assert response.request is request
