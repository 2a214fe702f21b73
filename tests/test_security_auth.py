"""Authentication: API keys (created and revoked through GraphQL and the CLI, shown once, stored hashed),
JWTs (HS256 with a shared secret, RS256 with keys from a JWKS served on 127.0.0.1 or read from a file),
the 401 challenge, route permissions, and what stays open."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.hub import Hub
from hub.security.api_keys import create_api_key
from hub.security.authenticate import Authenticator
from hub.security.config import SecurityConfig
from hub.security.errors import AuthenticationError
from hub.security.models import ApiKey

from .support.http_server import closed_port, serve_app
from .support.hub import api_client, gql
from .support.security import issue, plain_hub

ISSUER, AUDIENCE = "https://login.test/", "crmhub"


@pytest.fixture(scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with plain_hub(
        tmp_path_factory.mktemp("security-auth"), security={"rate_limit": {"requests": 100_000}}
    ) as running:
        yield running


# -- API keys ----------------------------------------------------------------------------------------

CREATE = """mutation($input: ApiKeyInput!) { createApiKey(input: $input) {
    key apiKey { id name role territories repId prefix state createdBy } errors { code field message } } }"""


async def test_a_key_is_shown_once_stored_hashed_and_revoked_at_once(hub: Hub) -> None:
    async with api_client(hub) as admin:
        _, body = await gql(admin, CREATE, {"input": {"role": "finance", "name": "ledger export"}})
        created = body["data"]["createApiKey"]
        key, record = created["key"], created["apiKey"]
        assert key.startswith("crmhub_") and len(key) > 40 and record["state"] == "ACTIVE"
        assert record["prefix"] == key[:14] and record["createdBy"] == "tests"
        _, listed = await gql(admin, "{ apiKeys { id prefix } }")
        assert {"id": record["id"], "prefix": key[:14]} in listed["data"]["apiKeys"]
        assert key not in json.dumps(listed)  # listings never carry the key
    async with hub.db.session() as session:
        row = await session.get(ApiKey, record["id"])
    assert row is not None and row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in json.dumps({c.name: str(getattr(row, c.name)) for c in ApiKey.__table__.columns})

    async with api_client(hub, key=key) as finance:
        status, body = await gql(finance, "{ customers(first: 1) { totalCount } }")
        assert status == 200 and body["data"]["customers"]["totalCount"] == 0
        async with api_client(hub) as admin:
            _, revoked = await gql(
                admin,
                "mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { state revokedBy } errors { code } } }",
                {"id": record["id"]},
            )
        assert revoked["data"]["revokeApiKey"]["apiKey"] == {"state": "REVOKED", "revokedBy": "tests"}
        response = await finance.post("/graphql", json={"query": "{ customers(first: 1) { totalCount } }"})
        assert response.status_code == 401
        assert 'error_description="the API key is revoked"' in response.headers["www-authenticate"]


async def test_bad_key_requests_get_clear_errors(hub: Hub) -> None:
    async with api_client(hub) as admin:
        for given, field in (
            ({"role": "emperor"}, "role"),
            ({"role": "sales_rep"}, "territories"),  # a territory-bound role needs a territory or a rep
            ({"role": "sales_rep", "territories": ["Atlantis"]}, "territories"),
            ({"role": "admin", "expiresAt": "2001-01-01T00:00:00Z"}, "expiresAt"),
            ({"role": "admin", "name": "x" * 300}, "name"),
        ):
            status, body = await gql(admin, CREATE, {"input": given})
            assert status == 200
            payload = body["data"]["createApiKey"]
            assert payload["key"] is None and payload["errors"][0]["field"] == field, payload


async def test_an_expired_key_and_a_key_whose_role_was_removed_are_refused(hub: Hub) -> None:
    key = await issue(hub, "bi_reader")
    async with hub.db.transaction() as session:
        await session.execute(
            update(ApiKey)
            .where(ApiKey.key_hash == hashlib.sha256(key.encode()).hexdigest())
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    async with api_client(hub, key=key) as client:
        response = await client.post("/graphql", json={"query": "{ salesReps { id } }"})
        assert response.status_code == 401 and "expired" in response.json()["errors"][0]["message"]

    other = await issue(hub, "support_agent")
    config = SecurityConfig(roles={"admin": SecurityConfig().roles["admin"]})
    authenticator = Authenticator(config, hub.db, Path.cwd())
    with pytest.raises(AuthenticationError, match="no longer configured"):
        await authenticator.authenticate(f"Bearer {other}")
    for header in ("Basic dXNlcjpwdw==", "Bearer", "Bearer two words", "Bearer crmhub_unknown"):
        with pytest.raises(AuthenticationError):
            await authenticator.authenticate(header)


def test_keys_from_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "crmhub.yaml"
    config.write_text(f"database_url: sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}\n")
    runner = CliRunner()
    created = runner.invoke(
        cli, ["keys", "create", "--role", "bi_reader", "--name", "dashboards", "-c", str(config)]
    )
    assert created.exit_code == 0, created.output
    lines = dict(
        line.split(":", 1) for line in created.output.splitlines() if line.startswith(("id:", "key:"))
    )
    key_id, key = lines["id"].strip(), lines["key"].strip()
    assert key.startswith("crmhub_")
    listed = runner.invoke(cli, ["keys", "list", "-c", str(config)])
    assert key_id in listed.output and key[:14] in listed.output and key not in listed.output
    assert runner.invoke(cli, ["keys", "revoke", key_id, "-c", str(config)]).exit_code == 0
    assert key_id not in runner.invoke(cli, ["keys", "list", "-c", str(config)]).output
    assert "revoked" in runner.invoke(cli, ["keys", "list", "--all", "-c", str(config)]).output
    refused = runner.invoke(cli, ["keys", "create", "--role", "sales_rep", "-c", str(config)])
    assert refused.exit_code == 2 and "bind the key to a territory or a sales rep" in refused.output
    missing = runner.invoke(cli, ["keys", "revoke", "key_nothing", "-c", str(config)])
    assert missing.exit_code == 2 and "no API key" in missing.output


# -- the gate ----------------------------------------------------------------------------------------


async def test_only_health_graphiql_and_signed_hooks_are_open(hub: Hub) -> None:
    async with api_client(hub, key=None) as anonymous:
        assert (await anonymous.get("/health")).status_code == 200
        page = await anonymous.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        # the page's URL may carry a query: then it is an API call like any other
        executed = await anonymous.get(
            "/graphql", params={"query": "{ salesReps { id } }"}, headers={"accept": "text/html"}
        )
        assert executed.status_code == 401
        assert (await anonymous.post("/hooks/erp", content=b"{}")).status_code == 404  # its own (HMAC) check
        for path in ("/metrics", "/export/customers.ndjson", "/", "/graphql"):
            response = await anonymous.get(path, headers={"accept": "application/json"})
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == 'Bearer realm="crmhub"'


async def test_route_permissions(hub: Hub) -> None:
    for role, status in (("bi_reader", 200), ("admin", 200), ("support_agent", 403)):
        async with api_client(hub, key=await issue(hub, role)) as client:
            response = await client.get("/metrics")
            assert response.status_code == status, role
            if status == 200:
                assert int(response.headers["x-ratelimit-limit"]) == 100_000


async def test_websockets_need_credentials_too(hub: Hub) -> None:
    from hub.app import create_app

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "path": "/graphql",
        "headers": [],
        "query_string": b"",
        "client": ("127.0.0.1", 1),
    }
    await create_app(hub=hub)(scope, receive, send)
    assert sent and sent[0]["type"] == "websocket.close" and sent[0]["code"] == 1008


# -- JWTs --------------------------------------------------------------------------------------------


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


def _token(key: Any, kid: str | None = None, algorithm: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u1",
        "iat": now,
        "exp": now + 300,
        "crmhub_role": "admin",
        **claims,
    }
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


class Jwks:
    """A JWKS endpoint whose keys the test changes, counting fetches."""

    def __init__(self, *keys: dict[str, Any]) -> None:
        self.keys = list(keys)
        self.fetches = 0

    def app(self) -> Starlette:
        async def jwks(request: Request) -> Response:
            self.fetches += 1
            return JSONResponse({"keys": self.keys})

        return Starlette(routes=[Route("/jwks.json", jwks)])


def _hs256_signed_with(secret: bytes, *, kid: str) -> str:
    """A token PyJWT would refuse to make: HS256 keyed with an RSA public key."""

    def part(data: dict[str, Any] | bytes) -> str:
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "x",
        "exp": int(time.time()) + 60,
        "crmhub_role": "admin",
    }
    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{part(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"


async def _status(hub: Hub, token: str) -> tuple[int, str]:
    async with api_client(hub, key=token) as client:
        response = await client.post("/graphql", json={"query": "{ salesReps { id } }"})
    return response.status_code, response.headers.get("www-authenticate", "")


async def test_rs256_tokens_with_keys_from_a_jwks_url(tmp_path: Path) -> None:
    first, second = _rsa(), _rsa()
    jwks = Jwks(_jwk(first, "k1"))
    async with serve_app(jwks.app()) as base_url:
        security = {
            "jwt": {
                "issuer": ISSUER,
                "audience": AUDIENCE,
                "jwks_url": f"{base_url}/jwks.json",
                "jwks_min_refresh_seconds": 0,
            }
        }
        async with plain_hub(tmp_path, security=security) as hub:
            assert (await _status(hub, _token(first, "k1")))[0] == 200
            assert (await _status(hub, _token(first, "k1", sub="u2")))[0] == 200
            assert jwks.fetches == 1  # cached

            jwks.keys = [_jwk(first, "k1"), _jwk(second, "k2")]  # the provider rotates
            assert (await _status(hub, _token(second, "k2")))[0] == 200
            assert jwks.fetches == 2

            pem = first.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            refused = {
                "wrong audience": _token(first, "k1", aud="someone-else"),
                "wrong issuer": _token(first, "k1", iss="https://evil.test/"),
                "expired": _token(first, "k1", exp=int(time.time()) - 3600),
                "unknown key": _token(_rsa(), "k9"),
                "no role": _token(first, "k1", crmhub_role=None),
                "unknown role": _token(first, "k1", crmhub_role="emperor"),
                "alg none": jwt.encode(
                    {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60},
                    None,
                    algorithm="none",
                ),
            }
            for why, token in refused.items():
                status, challenge = await _status(hub, token)
                assert status == 401 and 'error="invalid_token"' in challenge, why
            # the public key used as an HS256 secret (algorithm confusion) is refused
            assert (await _status(hub, _hs256_signed_with(pem, kid="k1")))[0] == 401


async def test_rs256_keys_from_a_jwks_file_and_an_unreachable_url(tmp_path: Path) -> None:
    key = _rsa()
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "jwks.json").write_text(json.dumps({"keys": [_jwk(key, "file-key")]}))
    security = {"jwt": {"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": "keys/jwks.json"}}
    async with plain_hub(tmp_path, security=security) as hub:
        assert (await _status(hub, _token(key, "file-key")))[0] == 200

    down = {
        "jwt": {"issuer": ISSUER, "audience": AUDIENCE, "jwks_url": f"http://127.0.0.1:{closed_port()}/jwks"}
    }
    (tmp_path / "down").mkdir()
    async with (
        plain_hub(tmp_path / "down", security=down) as hub,
        api_client(hub, key=_token(key, "file-key")) as client,
    ):
        response = await client.post("/graphql", json={"query": "{ salesReps { id } }"})
        assert (
            response.status_code == 503
            and response.json()["errors"][0]["extensions"]["code"] == "AUTH_UNAVAILABLE"
        )


async def test_hs256_tokens_carry_role_territories_and_name(tmp_path: Path) -> None:
    secret = "s" * 40
    security = {
        "jwt": {"issuer": ISSUER, "audience": AUDIENCE, "algorithms": ["HS256"], "hs256_secret": secret}
    }
    async with plain_hub(tmp_path, security=security) as hub:
        token = _token(secret, algorithm="HS256", crmhub_role="sales_manager", email="rep@example.com")
        async with api_client(hub, key=token) as client:
            _, body = await gql(
                client, 'mutation { createLead(input: { name: "Jan" }) { lead { createdBy } } }'
            )
            assert body["data"]["createLead"]["lead"]["createdBy"] == "rep@example.com"
        # A rep's token without territories: the role is honoured (its scope is empty, so a new lead
        # would be invisible to its creator and is refused with the reason)
        token = _token(secret, algorithm="HS256", crmhub_role="sales_rep", email="rep@example.com")
        async with api_client(hub, key=token) as client:
            _, body = await gql(
                client, 'mutation { createLead(input: { name: "Jan" }) { lead { id } errors { message } } }'
            )
            assert body["data"]["createLead"]["lead"] is None
            assert "no territory" in body["data"]["createLead"]["errors"][0]["message"]
        # RS256 is not configured here: a token using it is refused even with a good signature
        assert (await _status(hub, _token(_rsa(), "k", algorithm="RS256")))[0] == 401
        assert (await _status(hub, _token("x" * 40, algorithm="HS256")))[0] == 401  # wrong secret


async def test_a_demo_admin_key_from_the_environment(hub: Hub) -> None:
    from hub.security.demo import issue_demo_keys

    chosen = "demo-admin-key-0123456789-abcdefghijklmnop"
    keys = {k.role: k.key for k in await issue_demo_keys(hub, admin_key=chosen)}
    assert keys["admin"] == chosen and set(keys) >= {"admin", "sales_manager", "finance", "bi_reader"}
    again = {k.role: k.key for k in await issue_demo_keys(hub, admin_key=chosen)}
    assert again["admin"] == chosen and again["finance"] != keys["finance"]  # new keys, the old revoked
    assert (await _status(hub, keys["finance"]))[0] == 401
    assert (await _status(hub, again["finance"]))[0] == 200
    assert (await _status(hub, chosen))[0] == 200
    async with hub.db.session() as session:
        stored = await session.scalar(
            select(ApiKey).where(ApiKey.key_hash == hashlib.sha256(chosen.encode()).hexdigest())
        )
    assert stored is not None and stored.role == "admin"
    with pytest.raises(Exception, match="32-200 characters"):
        await create_api_key(hub.db, hub.settings.security, role="admin", actor="t", key="short")
