"""Session-cookie login (``SessionLoginAuth``) against a real server that hands out and checks sessions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from adapters.declarative import DeclarativeAdapter, ManifestError
from adapters.sdk import (
    CustomerRecord,
    Entity,
    MalformedResponseError,
    UpstreamAuthError,
    UpstreamUnavailableError,
)
from adapters.sdk.rest import PageRequest, SessionLoginAuth, UpstreamClient
from tests.support.http_server import serve_app
from tests.support.session_upstream import COMPANY_DB, PASSWORD, USER, reset, session_app

PARTNERS = PageRequest("/b1s/v1/BusinessPartners")
MAXI_TEQ = {"value": [{"CardCode": "C20000", "CardName": "Maxi-Teq"}]}


@pytest.fixture(scope="module")
async def session_server() -> AsyncIterator[tuple[Starlette, str]]:
    app = session_app()
    async with serve_app(app) as url:
        yield app, url


@pytest.fixture
def server(session_server: tuple[Starlette, str]) -> tuple[Starlette, str]:
    reset(session_server[0])
    return session_server


def service_layer(url: str, password: str = PASSWORD) -> SessionLoginAuth:
    return SessionLoginAuth(
        login_url=f"{url}/b1s/v1/Login",
        body={"CompanyDB": COMPANY_DB, "UserName": USER, "Password": SecretStr(password)},
    )


async def fetch(url: str, auth: httpx.Auth, request: PageRequest = PARTNERS) -> Any:
    client = UpstreamClient(url, source="erp", auth=auth)
    try:
        return (await client.send(request)).body
    finally:
        await client.aclose()


async def test_one_login_serves_every_request_with_the_session_cookies(server: tuple[Starlette, str]) -> None:
    app, url = server
    auth = service_layer(url)
    client = UpstreamClient(url, source="erp", auth=auth)
    pages = await asyncio.gather(*(client.send(PARTNERS) for _ in range(5)))
    await client.send(PARTNERS)
    await client.aclose()
    assert [page.body for page in pages] == [MAXI_TEQ] * 5
    assert auth.logins == 1 and len(app.state.login_bodies) == 1
    assert app.state.login_bodies[0] == {"CompanyDB": COMPANY_DB, "UserName": USER, "Password": PASSWORD}
    assert app.state.presented == [("sess-1", ".node1")] * 6
    assert client.requests_sent == 6  # the login is not a data call


async def expired_session(app: Starlette, url: str) -> tuple[SessionLoginAuth, UpstreamClient]:
    """A client whose session the upstream has just dropped (timed out) after one request."""
    auth = service_layer(url)
    client = UpstreamClient(url, source="erp", auth=auth)
    await client.send(PARTNERS)
    app.state.sessions.clear()
    return auth, client


async def test_an_expired_session_logs_in_again_and_retries_once(server: tuple[Starlette, str]) -> None:
    app, url = server
    auth, client = await expired_session(app, url)
    assert (await client.send(PARTNERS)).body == MAXI_TEQ
    await client.aclose()
    assert auth.logins == 2
    assert app.state.presented == [("sess-1", ".node1"), ("sess-1", ".node1"), ("sess-2", ".node1")]


async def test_concurrent_requests_refused_with_the_old_session_share_one_new_login(
    server: tuple[Starlette, str],
) -> None:
    auth, client = await expired_session(*server)
    pages = await asyncio.gather(*(client.send(PARTNERS) for _ in range(4)))
    await client.aclose()
    assert [page.body for page in pages] == [MAXI_TEQ] * 4
    assert auth.logins == 2


class Forgetful(set[str]):
    """A session store that forgets every session the server hands out."""

    def add(self, item: str) -> None:
        pass


async def test_a_session_refused_right_after_a_new_login_is_an_auth_error(
    server: tuple[Starlette, str],
) -> None:
    app, url = server
    auth, client = await expired_session(app, url)
    app.state.sessions = Forgetful()
    with pytest.raises(UpstreamAuthError, match="rejected the configured credentials"):
        await client.send(PARTNERS)
    await client.aclose()
    assert auth.logins == 2  # no loop of logins


async def test_a_cookie_renewed_by_an_answer_replaces_the_old_one(server: tuple[Starlette, str]) -> None:
    app, url = server
    client = UpstreamClient(url, source="erp", auth=service_layer(url))
    app.state.next_route = ".node2"
    await client.send(PARTNERS)
    await client.send(PARTNERS)
    await client.aclose()
    assert app.state.presented == [("sess-1", ".node1"), ("sess-1", ".node2")]


async def test_the_session_follows_a_redirect_within_the_upstream_only(server: tuple[Starlette, str]) -> None:
    app, url = server
    assert await fetch(url, service_layer(url), PageRequest("/b1s/v1/Moved")) == MAXI_TEQ
    assert app.state.presented == [("sess-1", ".node1")]
    other = session_app()
    async with serve_app(other) as elsewhere:
        moved_away = PageRequest("/b1s/v1/Moved", {"to": f"{elsewhere}/b1s/v1/BusinessPartners"})
        with pytest.raises(UpstreamAuthError):
            await fetch(url, service_layer(url), moved_away)
    assert other.state.presented == [(None, None), (None, None)]  # the cookies never left their origin


async def test_refused_credentials_raise_without_showing_them(server: tuple[Starlette, str]) -> None:
    app, url = server
    with pytest.raises(UpstreamAuthError) as caught:
        await fetch(url, service_layer(url, password="leaked-if-shown"))
    message = str(caught.value)
    assert "refused the credentials (401)" in message and "/b1s/v1/Login" in message
    assert "leaked-if-shown" not in message and "leaked-if-shown" not in repr(caught.value.__cause__)
    assert app.state.presented == []  # no data request went out without a session


async def test_a_login_that_fails_upstream_is_unavailable_not_refused(server: tuple[Starlette, str]) -> None:
    app, url = server
    app.state.login_status = 503
    with pytest.raises(UpstreamUnavailableError, match="answered 503"):
        await fetch(url, service_layer(url))


async def test_a_login_that_sets_no_cookie_is_malformed(server: tuple[Starlette, str]) -> None:
    app, url = server
    app.state.login_sets_cookies = False
    with pytest.raises(MalformedResponseError, match="without setting a session cookie"):
        await fetch(url, service_layer(url))


@pytest.mark.parametrize(("password", "accepted"), [(PASSWORD, True), ("wrong", False)])
async def test_an_error_field_in_a_200_login_answer_is_a_refusal(
    server: tuple[Starlette, str], password: str, accepted: bool
) -> None:
    _, url = server
    auth = SessionLoginAuth(
        login_url=f"{url}/web/session/authenticate",
        body={"jsonrpc": "2.0", "method": "call", "params": {"login": USER, "password": SecretStr(password)}},
        error_field="error",
    )
    request = httpx.Request("POST", f"{url}/web/session/authenticate", json={"params": {}})
    flow = auth.async_auth_flow(request)
    login = await flow.__anext__()
    async with httpx.AsyncClient() as client:
        answer = await client.send(login)
    if accepted:
        assert (await flow.asend(answer)).headers["Cookie"] == "session_id=odoo-session"
    else:
        with pytest.raises(UpstreamAuthError, match="its answer has an error"):
            await flow.asend(answer)


async def test_the_flow_works_in_a_plain_httpx_client(server: tuple[Starlette, str]) -> None:
    app, url = server
    async with httpx.AsyncClient(base_url=url, auth=service_layer(url)) as client:
        first = await client.get("/b1s/v1/BusinessPartners")
        app.state.sessions.clear()
        second = await client.get("/b1s/v1/BusinessPartners")
    assert first.json() == second.json() == MAXI_TEQ
    assert [session for session, _ in app.state.presented] == ["sess-1", "sess-1", "sess-2"]


def test_the_login_url_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="absolute"):
        SessionLoginAuth(login_url="/b1s/v1/Login", body={})
    with pytest.raises(ValueError, match="at least one status"):
        SessionLoginAuth(login_url="https://erp.example.com/Login", body={}, expired_statuses=())


def test_secrets_stay_hidden_until_the_login_is_sent() -> None:
    auth = SessionLoginAuth(
        login_url="https://erp.example.com/b1s/v1/Login",
        body={"UserName": USER, "Password": SecretStr("hidden"), "Extra": [{"Pin": SecretStr("4711")}]},
    )
    assert "hidden" not in repr(auth.__dict__) and "4711" not in repr(auth.__dict__)
    request = auth._login_request(httpx.Request("GET", "https://erp.example.com/b1s/v1/Items"))
    assert request.read() == b'{"UserName":"manager","Password":"hidden","Extra":[{"Pin":"4711"}]}'


def manifest(url: str, **auth: Any) -> dict[str, Any]:
    return {
        "base_url": f"{url}/b1s/v1",
        "auth": {
            "type": "session_login",
            "login_url": "Login",  # relative: resolved against base_url
            "body": {"CompanyDB": COMPANY_DB, "UserName": USER, "Password": "${secrets.password}"},
            **auth,
        },
        "endpoints": {
            "customer": {
                "path": "BusinessPartners",
                "record_path": "value",
                "fields": {"external_id": "CardCode", "name": "CardName"},
                "get_many": {
                    "param": "$filter",
                    "item_template": "CardCode eq '{value}'",
                    "separator": " or ",
                },
            }
        },
    }


async def test_a_declarative_source_logs_in_with_a_session(server: tuple[Starlette, str]) -> None:
    app, url = server
    adapter = DeclarativeAdapter.from_config(
        source="sap", config={"manifest": manifest(url), "secrets": {"password": PASSWORD}}
    )
    assert isinstance(adapter, DeclarativeAdapter)
    try:
        found = await adapter.get_many(Entity.CUSTOMER, ["C20000", "C99999"])
        app.state.sessions.clear()
        again = await adapter.get_many(Entity.CUSTOMER, ["C20000"])
    finally:
        await adapter.aclose()
    assert isinstance(found[0], CustomerRecord) and found[0].name == "Maxi-Teq" and found[1] is None
    assert again[0] is not None
    assert len(app.state.login_bodies) == 2 and app.state.login_bodies[0]["Password"] == PASSWORD
    auth = adapter.http._auth
    assert isinstance(auth, SessionLoginAuth) and auth.login_url == f"{url}/b1s/v1/Login"
    assert PASSWORD not in repr(vars(auth))  # the body's texts are kept as secrets


@pytest.mark.parametrize(
    ("auth", "where", "message"),
    [
        ({"expired_statuses": [200]}, "auth.expired_statuses[0]", "greater than or equal to 400"),
        ({"expired_statuses": []}, "auth.expired_statuses", "at least 1 item"),
        ({"body": "user:pass"}, "auth.body", "valid dictionary"),
        ({"login_url": None}, "auth.login_url", "valid string"),
    ],
)
def test_a_bad_session_login_manifest_is_a_clear_error(
    auth: dict[str, Any], where: str, message: str
) -> None:
    config = {"manifest": manifest("http://127.0.0.1:9", **auth), "secrets": {"password": PASSWORD}}
    with pytest.raises(ManifestError, match=message) as caught:
        DeclarativeAdapter.from_config(source="sap", config=config)
    assert where in str(caught.value) and PASSWORD not in str(caught.value)
