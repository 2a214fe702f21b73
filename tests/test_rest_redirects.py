"""Redirects and auth flows as ``UpstreamClient`` sends them (``adapters/sdk/rest/exchange.py``), against
real servers on 127.0.0.1: two of them, so a redirect can leave the origin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from adapters.sdk import UpstreamUnavailableError
from adapters.sdk.rest import BearerTokenAuth, PageRequest, UpstreamClient
from adapters.sdk.rest.exchange import MAX_REDIRECTS
from tests.support.http_server import serve_app


async def echo(request: Request) -> Response:
    """What arrived: method, query, body and the headers a redirect may change."""
    return JSONResponse(
        {
            "method": request.method,
            "query": dict(request.query_params),
            "body": (await request.body()).decode(),
            "authorization": request.headers.get("authorization"),
            "authorizations": request.headers.getlist("authorization"),
            "accept": request.headers.getlist("accept"),
            "host": request.headers.get("host"),
        }
    )


def upstream(other: dict[str, str]) -> Starlette:
    """An upstream whose routes redirect (to itself or to ``other['url']``) or echo the request."""

    async def to_echo(request: Request) -> Response:
        status = int(request.query_params.get("status", "302"))
        return RedirectResponse("/echo?moved=1", status_code=status)

    async def elsewhere(request: Request) -> Response:
        return RedirectResponse(f"{other['url']}/echo", status_code=302)

    async def loop(request: Request) -> Response:
        request.app.state.loop_hits += 1
        return RedirectResponse("/loop", status_code=302)

    async def broken(request: Request) -> Response:
        return Response(status_code=302, headers={"Location": "http://host:no-port/"})

    app = Starlette(
        routes=[
            Route("/echo", echo, methods=["GET", "POST"]),
            Route("/moved", to_echo, methods=["GET", "POST"]),
            Route("/elsewhere", elsewhere),
            Route("/loop", loop),
            Route("/broken", broken),
        ]
    )
    app.state.loop_hits = 0
    return app


@pytest.fixture
async def servers() -> AsyncIterator[tuple[str, str]]:
    """The upstream's URL and a second server's (another port: another origin)."""
    other: dict[str, str] = {}
    async with serve_app(upstream(other)) as first, serve_app(upstream({})) as second:
        other["url"] = second
        yield first, second


def client(url: str) -> UpstreamClient:
    return UpstreamClient(url, source="redirects", auth=BearerTokenAuth("s3cret"), max_concurrency=2)


async def test_a_redirect_on_the_same_upstream_is_followed_with_the_credentials(
    servers: tuple[str, str],
) -> None:
    upstream_client = client(servers[0])
    try:
        answer = await upstream_client.send(PageRequest("/moved", {"status": "307"}))
    finally:
        await upstream_client.aclose()
    assert answer.body["query"] == {"moved": "1"}
    assert answer.body["authorization"] == "Bearer s3cret"
    assert str(answer.url).endswith("/echo?moved=1")
    assert upstream_client.requests_sent == 1  # one data request, however many hops it took


async def test_a_redirect_to_another_origin_drops_the_credentials(servers: tuple[str, str]) -> None:
    upstream_client = client(servers[0])
    try:
        answer = await upstream_client.send(PageRequest("/elsewhere"))
    finally:
        await upstream_client.aclose()
    assert answer.body["authorization"] is None
    assert answer.body["host"] == servers[1].removeprefix("http://")


@pytest.mark.parametrize(
    ("status", "method", "body"),
    [(303, "GET", ""), (302, "GET", ""), (307, "POST", '{"q":1}'), (308, "POST", '{"q":1}')],
)
async def test_a_post_redirect_keeps_or_drops_its_body_by_status(
    servers: tuple[str, str], status: int, method: str, body: str
) -> None:
    upstream_client = client(servers[0])
    try:
        answer = await upstream_client.send(
            PageRequest("/moved", {"status": str(status)}, method="POST", json_body={"q": 1})
        )
    finally:
        await upstream_client.aclose()
    assert (answer.body["method"], answer.body["body"]) == (method, body)


@pytest.mark.parametrize("path", ["/loop", "/broken"])
async def test_an_endless_or_unreadable_redirect_is_a_typed_error(
    servers: tuple[str, str], path: str
) -> None:
    upstream_client = client(servers[0])
    try:
        with pytest.raises(UpstreamUnavailableError) as caught:
            await upstream_client.send(PageRequest(path), entity="ticket")
    finally:
        await upstream_client.aclose()
    error = caught.value
    assert error.source == "redirects" and error.entity == "ticket"
    assert ("TooManyRedirects" if path == "/loop" else "RemoteProtocolError") in error.message
    assert "s3cret" not in error.message


async def test_the_redirect_limit_is_httpx_s() -> None:
    app = upstream({})
    async with serve_app(app) as url:
        upstream_client = UpstreamClient(url, source="t")
        try:
            with pytest.raises(UpstreamUnavailableError):
                await upstream_client.send(PageRequest("/loop"))
        finally:
            await upstream_client.aclose()
    assert app.state.loop_hits == MAX_REDIRECTS + 1 == 21


async def test_credentials_in_the_base_url_are_sent_as_basic_auth_not_in_the_url(
    servers: tuple[str, str],
) -> None:
    with_userinfo = servers[0].replace("http://", "http://user:pa%20ss@")
    upstream_client = UpstreamClient(with_userinfo, source="t")
    try:
        answer = await upstream_client.send(PageRequest("/echo"))
    finally:
        await upstream_client.aclose()
    assert answer.body["authorization"] == httpx.BasicAuth("user", "pa ss")._auth_header
    assert "user" not in str(answer.url)


async def test_a_link_with_a_query_of_its_own_keeps_it_and_gains_the_params(servers: tuple[str, str]) -> None:
    upstream_client = client(servers[0])
    seen: list[Any] = []
    try:
        for url in (f"{servers[0]}/echo?cursor=abc", "echo?cursor=abc"):
            seen.append((await upstream_client.send(PageRequest(url, {"size": "10"}))).body["query"])
    finally:
        await upstream_client.aclose()
    assert seen == [{"cursor": "abc", "size": "10"}] * 2


@pytest.mark.parametrize(
    "params",
    [
        {"q": "a b+c/d?e&f=g#h", "empty": ""},
        {"ids": ["1", "2", "3"], "text": "ünïcode 中 🙂"},
        {"already": "50%25 off %zz", "filter[type]": "ticket"},
        {"values": [True, False, None, 3, 2.5]},  # outside the declared type, written as httpx writes them
    ],
    ids=["reserved", "repeated-and-unicode", "percent", "non-text"],
)
async def test_query_strings_are_encoded_as_httpx_encodes_them(
    servers: tuple[str, str], params: dict[str, Any]
) -> None:
    upstream_client = client(servers[0])
    try:
        answer = await upstream_client.send(PageRequest("/echo", params))
    finally:
        await upstream_client.aclose()
    pairs = [(k, v) for k, value in params.items() for v in (value if isinstance(value, list) else [value])]
    assert answer.url.query == httpx.URL(servers[0], params=pairs).query
    # The upstream reads back what was meant (the last of repeated values, as Starlette's dict keeps it).
    assert answer.body["query"] == dict(httpx.QueryParams(pairs).multi_items())
    if "q" in params:
        assert answer.body["query"]["q"] == params["q"]


async def test_a_configured_header_is_replaced_by_the_authenticator_s_whatever_its_case(
    servers: tuple[str, str],
) -> None:
    upstream_client = UpstreamClient(
        servers[0],
        source="t",
        auth=BearerTokenAuth("s3cret"),
        headers={"authorization": "Bearer stale", "ACCEPT": "application/vnd.api+json"},
    )
    try:
        answer = await upstream_client.send(PageRequest("/echo"))
    finally:
        await upstream_client.aclose()
    assert answer.body["authorizations"] == ["Bearer s3cret"]
    assert answer.body["accept"] == ["application/vnd.api+json"]  # a configured Accept replaces the default
