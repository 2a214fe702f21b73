"""The REST toolkit's authenticators against a real server that checks credentials."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from adapters.sdk import AdapterError, UpstreamAuthError
from adapters.sdk.rest import (
    ApiKeyAuth,
    BasicAuth,
    BearerTokenAuth,
    OAuth2ClientCredentials,
    PageRequest,
    UpstreamClient,
)
from tests.support.http_server import serve_app
from tests.support.rest_upstreams import (
    API_KEY,
    BASIC_PASSWORD,
    BASIC_USER,
    CLIENT_ID,
    CLIENT_SECRET,
    auth_app,
)


@pytest.fixture(scope="module")
async def auth_server() -> AsyncIterator[tuple[Starlette, str]]:
    app = auth_app()
    async with serve_app(app) as url:
        yield app, url


@pytest.fixture
def server(auth_server: tuple[Starlette, str]) -> tuple[Starlette, str]:
    app, url = auth_server
    app.state.valid_tokens.clear()
    app.state.token_calls.clear()
    app.state.presented.clear()
    app.state.expires_in = 3600
    return app, url


async def fetch(url: str, path: str, auth: httpx.Auth) -> Any:
    client = UpstreamClient(url, source="auth", auth=auth)
    try:
        return (await client.send(PageRequest(path))).body
    finally:
        await client.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def oauth(url: str, **overrides: Any) -> OAuth2ClientCredentials:
    options: dict[str, Any] = {
        "token_url": f"{url}/oauth/token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **overrides,
    }
    return OAuth2ClientCredentials(**options)


@pytest.mark.parametrize(
    ("path", "auth", "scheme"),
    [
        ("/basic", BasicAuth(BASIC_USER, BASIC_PASSWORD), "basic"),
        ("/header-key", ApiKeyAuth(API_KEY), "header"),
        ("/prefixed-key", ApiKeyAuth(API_KEY, name="Authorization", prefix="Token"), "prefixed"),
        ("/query-key", ApiKeyAuth(API_KEY, name="api_key", location="query"), "query"),
    ],
    ids=["basic", "key-in-header", "key-with-prefix", "key-in-query"],
)
async def test_static_credentials_are_accepted(
    server: tuple[Starlette, str], path: str, auth: httpx.Auth, scheme: str
) -> None:
    assert await fetch(server[1], path, auth) == {"data": [{"id": 1, "name": f"via {scheme}"}]}


@pytest.mark.parametrize(
    ("path", "auth", "secret"),
    [
        ("/basic", BasicAuth(BASIC_USER, "wrong-password"), "wrong-password"),
        ("/header-key", ApiKeyAuth("wrong-key-1"), "wrong-key-1"),
        ("/query-key", ApiKeyAuth("wrong-key-2", name="api_key", location="query"), "wrong-key-2"),
        ("/header-key", BearerTokenAuth("wrong-token"), "wrong-token"),
    ],
    ids=["basic", "key-in-header", "key-in-query", "bearer"],
)
async def test_rejected_credentials_raise_without_showing_them(
    server: tuple[Starlette, str], path: str, auth: httpx.Auth, secret: str
) -> None:
    with pytest.raises(UpstreamAuthError) as caught:
        await fetch(server[1], path, auth)
    assert secret not in str(caught.value) and "401" in caught.value.message


async def test_a_key_in_the_query_stays_out_of_other_errors(server: tuple[Starlette, str]) -> None:
    with pytest.raises(AdapterError) as caught:
        await fetch(server[1], "/no-such-path", ApiKeyAuth(API_KEY, name="api_key", location="query"))
    assert "404" in caught.value.message and API_KEY not in str(caught.value)


async def test_the_authenticator_s_header_wins_over_a_configured_header(
    server: tuple[Starlette, str],
) -> None:
    auth = ApiKeyAuth(API_KEY, name="Authorization", prefix="Token")
    client = UpstreamClient(server[1], source="auth", auth=auth, headers={"Authorization": "Token stale"})
    try:
        body = (await client.send(PageRequest("/prefixed-key"))).body
    finally:
        await client.aclose()
    assert body == {"data": [{"id": 1, "name": "via prefixed"}]}


@pytest.mark.parametrize(
    ("path", "auth", "scheme"),
    [
        ("/basic", BasicAuth(BASIC_USER, BASIC_PASSWORD), "basic"),
        ("/prefixed-key", ApiKeyAuth(API_KEY, name="Authorization", prefix="Token"), "prefixed"),
        ("/query-key", ApiKeyAuth(API_KEY, name="api_key", location="query"), "query"),
    ],
    ids=["basic", "key-with-prefix", "key-in-query"],
)
async def test_the_authenticators_are_plain_httpx_flows_outside_the_sdk_client(
    server: tuple[Starlette, str], path: str, auth: httpx.Auth, scheme: str
) -> None:
    # UpstreamClient sends fixed headers without running the flow; any other httpx client runs it.
    async with httpx.AsyncClient(base_url=server[1], auth=auth) as client:
        response = await client.get(path)
    assert response.json() == {"data": [{"id": 1, "name": f"via {scheme}"}]}


def test_api_key_location_is_checked() -> None:
    with pytest.raises(ValueError, match="'header' or 'query'"):
        ApiKeyAuth("k", location="cookie")  # type: ignore[arg-type]


async def test_oauth_token_is_fetched_once_and_reused(server: tuple[Starlette, str]) -> None:
    app, url = server
    auth = oauth(url, scopes=["read", "write"])
    client = UpstreamClient(url, source="auth", auth=auth)
    await asyncio.gather(*(client.send(PageRequest("/oauth/data")) for _ in range(5)))
    await client.send(PageRequest("/oauth/data"))
    assert len(app.state.token_calls) == 1 and auth.token_requests == 1
    assert app.state.token_calls[0]["scope"] == "read write"
    assert app.state.token_calls[0]["client_secret"] == CLIENT_SECRET  # client_secret_post
    assert set(app.state.presented) == app.state.valid_tokens and len(app.state.valid_tokens) == 1
    assert client.requests_sent == 6  # token requests are not data calls
    await client.aclose()


async def test_oauth_client_credentials_in_basic_header(server: tuple[Starlette, str]) -> None:
    app, url = server
    assert await fetch(url, "/oauth/data", oauth(url, client_auth="basic")) == {
        "data": [{"id": 1, "name": "via oauth"}]
    }
    assert "client_secret" not in app.state.token_calls[0]


async def test_oauth_token_is_refreshed_before_it_expires(server: tuple[Starlette, str]) -> None:
    app, url = server
    app.state.expires_in = 600
    clock = Clock()
    client = UpstreamClient(url, source="auth", auth=oauth(url, clock=clock, expiry_margin_seconds=30))
    await client.send(PageRequest("/oauth/data"))
    clock.now += 560  # still 40 s to live: kept
    await client.send(PageRequest("/oauth/data"))
    clock.now += 15  # within the 30 s margin: refreshed before the request goes out
    await client.send(PageRequest("/oauth/data"))
    assert len(app.state.token_calls) == 2
    assert app.state.presented[1] == app.state.presented[0] != app.state.presented[2]
    assert len(app.state.presented) == 3  # no 401 round trip was needed
    await client.aclose()


async def test_oauth_refreshes_once_on_401(server: tuple[Starlette, str]) -> None:
    app, url = server
    client = UpstreamClient(url, source="auth", auth=oauth(url))
    await client.send(PageRequest("/oauth/data"))
    app.state.valid_tokens.clear()  # revoked upstream before its expiry
    page = await client.send(PageRequest("/oauth/data"))
    assert page.body == {"data": [{"id": 1, "name": "via oauth"}]}
    assert len(app.state.token_calls) == 2 and len(app.state.presented) == 3
    await client.aclose()


async def test_oauth_fails_after_one_refresh(server: tuple[Starlette, str]) -> None:
    app, url = server
    auth = oauth(url)
    client = UpstreamClient(url, source="auth", auth=auth)
    with pytest.raises(UpstreamAuthError, match="401"):
        await client.send(PageRequest("/header-key"))  # never accepts bearer tokens
    assert auth.token_requests == 2 and len(app.state.token_calls) == 2
    await client.aclose()


async def test_oauth_rejected_client_secret(server: tuple[Starlette, str]) -> None:
    with pytest.raises(
        UpstreamAuthError, match=r"token endpoint .* refused the client credentials"
    ) as caught:
        await fetch(server[1], "/oauth/data", oauth(server[1], client_secret="leaked-if-shown"))
    assert "leaked-if-shown" not in str(caught.value)
    assert caught.value.source == "auth"


async def test_oauth_expired_token_with_a_mocked_token_endpoint() -> None:
    """The token endpoint says the token lives 60 s; once the clock passes that, a new one is fetched."""
    issued: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            issued.append(f"t{len(issued) + 1}")
            return httpx.Response(200, json={"access_token": issued[-1], "expires_in": 60})
        return httpx.Response(200, json={"auth": request.headers["Authorization"]})

    clock = Clock()
    auth = OAuth2ClientCredentials(
        token_url="http://api.test/token", client_id="c", client_secret="s", clock=clock
    )
    client = UpstreamClient("http://api.test", source="t", auth=auth, transport=httpx.MockTransport(handler))
    assert (await client.send(PageRequest("/x"))).body == {"auth": "Bearer t1"}
    clock.now += 61
    assert (await client.send(PageRequest("/x"))).body == {"auth": "Bearer t2"}
    await client.aclose()


def test_oauth_token_url_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="absolute URL"):
        OAuth2ClientCredentials(token_url="/oauth/token", client_id="c", client_secret="s")
