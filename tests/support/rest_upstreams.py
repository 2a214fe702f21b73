"""Small upstreams for REST toolkit tests: one that checks credentials (basic, API keys, OAuth 2 client
credentials) and one that misbehaves (pages that never end, foreign next links, wrong shapes)."""

from __future__ import annotations

import base64
import itertools
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BASIC_USER, BASIC_PASSWORD = "erp-reader", "basic-pa55word"
API_KEY = "key-0123456789"
CLIENT_ID, CLIENT_SECRET = "crmhub-client", "client-s3cret-value"


def _denied() -> Response:
    return JSONResponse({"error": "denied"}, status_code=401)


def _ok(scheme: str) -> Response:
    return JSONResponse({"data": [{"id": 1, "name": f"via {scheme}"}]})


async def basic(request: Request) -> Response:
    expected = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
    return _ok("basic") if request.headers.get("authorization") == f"Basic {expected}" else _denied()


async def header_key(request: Request) -> Response:
    return _ok("header") if request.headers.get("x-api-key") == API_KEY else _denied()


async def prefixed_key(request: Request) -> Response:
    return _ok("prefixed") if request.headers.get("authorization") == f"Token {API_KEY}" else _denied()


async def query_key(request: Request) -> Response:
    return _ok("query") if request.query_params.get("api_key") == API_KEY else _denied()


async def token(request: Request) -> Response:
    state = request.app.state
    form = dict(parse_qsl((await request.body()).decode()))  # urlencoded, as OAuth 2 prescribes
    client_id, secret = form.get("client_id"), form.get("client_secret")
    header = request.headers.get("authorization", "")
    if header.startswith("Basic "):
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    if form.get("grant_type") != "client_credentials" or (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
        return JSONResponse({"error": "invalid_client"}, status_code=401)
    state.token_calls.append(form)
    issued = f"tok-{next(state.counter)}"
    state.valid_tokens.add(issued)
    return JSONResponse({"access_token": issued, "token_type": "Bearer", "expires_in": state.expires_in})


async def protected(request: Request) -> Response:
    state = request.app.state
    presented = request.headers.get("authorization", "").removeprefix("Bearer ")
    state.presented.append(presented)
    return _ok("oauth") if presented in state.valid_tokens else _denied()


def auth_app() -> Starlette:
    app = Starlette(
        routes=[
            Route("/basic", basic),
            Route("/header-key", header_key),
            Route("/prefixed-key", prefixed_key),
            Route("/query-key", query_key),
            Route("/oauth/token", token, methods=["POST"]),
            Route("/oauth/data", protected),
        ]
    )
    app.state.counter = itertools.count(1)
    app.state.valid_tokens = set()
    app.state.token_calls = []
    app.state.presented = []
    app.state.expires_in = 3600
    return app


# -- misbehaving upstream -----------------------------------------------------------------------------


def _record(n: int) -> dict[str, Any]:
    return {"id": n, "name": f"Customer {n}"}


async def same_cursor(request: Request) -> Response:
    return JSONResponse({"data": [_record(1)], "next": "always-the-same"})


async def endless(request: Request) -> Response:
    cursor = int(request.query_params.get("cursor", "0"))
    return JSONResponse({"data": [_record(cursor)], "next": str(cursor + 1)})


async def offsite(request: Request) -> Response:
    return JSONResponse({"data": [_record(1)], "next": "http://198.51.100.7/steal-the-token"})


async def not_a_list(request: Request) -> Response:
    return JSONResponse({"data": {"id": 1}})


async def not_records(request: Request) -> Response:
    return JSONResponse({"data": [1, 2, 3]})


async def wrong_path(request: Request) -> Response:
    return JSONResponse({"items": [_record(1)]})


async def invalid_record(request: Request) -> Response:
    return JSONResponse({"data": [{"id": 1}]})  # no name: does not fit a customer


async def not_json(request: Request) -> Response:
    return Response("<html>down for maintenance</html>", media_type="text/html")


async def status(request: Request) -> Response:
    return JSONResponse({"error": "as asked"}, status_code=int(request.path_params["code"]))


def faulty_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/same-cursor", same_cursor),
            Route("/endless", endless),
            Route("/offsite", offsite),
            Route("/not-a-list", not_a_list),
            Route("/not-records", not_records),
            Route("/wrong-path", wrong_path),
            Route("/invalid-record", invalid_record),
            Route("/not-json", not_json),
            Route("/status/{code:int}", status),
        ]
    )
