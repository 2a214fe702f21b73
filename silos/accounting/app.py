"""The accounting silo's HTTP API, shaped like the real product's.

* ``POST /oauth2/v1/tokens/bearer``: client credentials (HTTP Basic ``client_id:client_secret`` or form
  fields) with ``grant_type=client_credentials`` or ``grant_type=refresh_token``; answers short-lived bearer
  tokens (``expires_in`` seconds) and a refresh token.
* ``GET|POST /v3/company/{realmId}/query?query=...`` (or the query as a ``text/plain`` / ``application/text``
  body): the query language of ``silos.accounting.query``; ``{"QueryResponse": {"Customer": [...],
  "startPosition": 1, "maxResults": n}, "time": ...}``. An empty result is ``{"QueryResponse": {}}``, as in
  the product. ``select count(*)`` answers ``{"QueryResponse": {"totalCount": n}}``.
* ``GET /v3/company/{realmId}/{customer|invoice|payment}/{id}``: one record, ``{"Customer": {...}}``.

Errors use the product's ``{"Fault": {"Error": [{"Message", "Detail", "code"}], "type"}, "time"}`` body:
401 for a missing, unknown or expired token, 403 for another realm, 400 for a bad query (code 4000 parse
error, 4001 invalid query) or an unknown id (code 610), 429 over the per-minute limit.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._hashing import hex_id
from ..faults import FailureKind, Faults, FaultsMiddleware, control_routes
from ..http import basic_credentials, bearer_token, json_response
from ..limits import RateLimit, RateLimiter, RateLimitMiddleware
from .data import BOOKS_TZ, AccountingData
from .engine import ENTITIES, execute
from .query import QueryError, parse_query
from .render import record_json

#: The product allows 500 requests per minute per company.
DEFAULT_LIMIT = RateLimit(per_minute=500)
REFRESH_TOKEN_SECONDS = 8_726_400  # 101 days, as the product's refresh tokens


@dataclass(frozen=True)
class AccountingCredentials:
    realm_id: str
    client_id: str
    client_secret: str
    #: Lifetime of issued access tokens; short in tests that exercise expiry.
    token_ttl_seconds: float = 3600.0

    @classmethod
    def for_seed(cls, seed: int) -> AccountingCredentials:
        return cls(
            realm_id=str(9130350000000000 + int(hex_id(8, seed, "realm"), 16) % 10**9),
            client_id="AB" + hex_id(30, seed, "client-id"),
            client_secret=hex_id(40, seed, "client-secret"),
        )


@dataclass
class TokenStore:
    ttl_seconds: float
    clock: Callable[[], float] = time.monotonic
    access: dict[str, float] = field(default_factory=dict)
    refresh: set[str] = field(default_factory=set)

    def issue(self) -> dict[str, object]:
        token, refresh_token = secrets.token_urlsafe(32), "RT1-" + secrets.token_urlsafe(24)
        self.access[token] = self.clock() + self.ttl_seconds
        self.refresh.add(refresh_token)
        return {
            "token_type": "bearer",
            "access_token": token,
            "expires_in": max(int(self.ttl_seconds), 1),
            "refresh_token": refresh_token,
            "x_refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
        }

    def check(self, token: str | None) -> str | None:
        """``None`` when the token is good, otherwise why it is not."""
        if not token:
            return "no bearer token"
        expires = self.access.get(token)
        if expires is None:
            return "token invalid"
        if self.clock() >= expires:
            return "token expired"
        return None


def fault_body(status: int, message: str, detail: str, code: str, fault_type: str) -> Response:
    now = dt.datetime.now(BOOKS_TZ).isoformat(timespec="milliseconds")
    body = {
        "Fault": {"Error": [{"Message": message, "Detail": detail, "code": code}], "type": fault_type},
        "time": now,
    }
    return json_response(body, status)


def render_failure(status: int, kind: FailureKind, detail: str) -> Response:
    if kind == "rate_limited":
        return fault_body(
            429, "message=ThrottleExceeded; errorCode=003001; statusCode=429", detail, "3001", "SERVICE"
        )
    if kind == "unavailable":
        return fault_body(503, "Service Unavailable", detail, "10000", "SERVICE")
    return fault_body(
        500, "An application error has occurred while processing your request", detail, "10000", "SystemFault"
    )


def _auth_failure(reason: str) -> Response:
    return fault_body(
        401,
        "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        reason,
        "3200",
        "AUTHENTICATION",
    )


def create_app(
    data: AccountingData,
    *,
    credentials: AccountingCredentials,
    faults: Faults | None = None,
    limits: RateLimit = DEFAULT_LIMIT,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    faults = faults if faults is not None else Faults()
    tokens = TokenStore(credentials.token_ttl_seconds, clock)
    paths = {entity.lower(): entity for entity in ENTITIES}

    def authorize(request: Request) -> Response | None:
        problem = tokens.check(bearer_token(request))
        if problem:
            return _auth_failure(problem)
        if request.path_params["realm_id"] != credentials.realm_id:
            return fault_body(
                403,
                "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                f"this token does not grant access to company {request.path_params['realm_id']}",
                "3100",
                "AUTHENTICATION",
            )
        return None

    async def token(request: Request) -> Response:
        # The token endpoint takes application/x-www-form-urlencoded, like every OAuth2 server.
        form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace")))
        basic = basic_credentials(request)
        client_id, secret = (
            basic if basic else (str(form.get("client_id", "")), str(form.get("client_secret", "")))
        )
        if (client_id, secret) != (credentials.client_id, credentials.client_secret):
            return json_response({"error": "invalid_client"}, 401)
        grant = form.get("grant_type")
        if grant == "client_credentials":
            return json_response(tokens.issue())
        if grant == "refresh_token":
            if form.get("refresh_token") not in tokens.refresh:
                return json_response({"error": "invalid_grant"}, 400)
            return json_response(tokens.issue())
        if not grant:
            return json_response(
                {"error": "invalid_request", "error_description": "grant_type is missing"}, 400
            )
        return json_response({"error": "unsupported_grant_type"}, 400)

    async def query(request: Request) -> Response:
        refused = authorize(request)
        if refused:
            return refused
        text = request.query_params.get("query")
        if text is None and request.method == "POST":
            text = (await request.body()).decode("utf-8", errors="replace")
        if not text:
            return fault_body(
                400,
                "Error parsing query",
                "QueryParserError: the query parameter is missing",
                "4000",
                "ValidationFault",
            )
        try:
            result = execute(data, parse_query(text))
        except QueryError as exc:
            message = "Error parsing query" if exc.code == "4000" else "Invalid query"
            prefix = "QueryParserError" if exc.code == "4000" else "QueryValidationError"
            return fault_body(400, message, f"{prefix}: {exc}", exc.code, "ValidationFault")
        now = dt.datetime.now(BOOKS_TZ).isoformat(timespec="milliseconds")
        if result.count is not None:
            return json_response({"QueryResponse": {"totalCount": result.count}, "time": now})
        if not result.records:
            return json_response({"QueryResponse": {}, "time": now})
        start = parse_query(text).start_position
        body = {
            result.entity: [record_json(data, result.entity, r) for r in result.records],
            "startPosition": start,
            "maxResults": len(result.records),
        }
        return json_response({"QueryResponse": body, "time": now})

    async def read_one(request: Request) -> Response:
        refused = authorize(request)
        if refused:
            return refused
        entity = paths.get(request.path_params["entity"].lower())
        if entity is None:
            return fault_body(
                400,
                "Unsupported Operation",
                f"Operation {request.path_params['entity']} is not supported",
                "500",
                "ValidationFault",
            )
        raw_id = request.path_params["record_id"]
        record = data.by_id(entity, int(raw_id)) if raw_id.isdigit() else None
        if record is None:
            return fault_body(
                400,
                "Object Not Found",
                f"Object Not Found : Something you're trying to use has been made inactive or "
                f"deleted ({entity} {raw_id}).",
                "610",
                "ValidationFault",
            )
        now = dt.datetime.now(BOOKS_TZ).isoformat(timespec="milliseconds")
        return json_response({entity: record_json(data, entity, record), "time": now})

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        message = "Unsupported Operation" if status == 405 else "Resource Not Found"
        return fault_body(
            status, message, f"{request.method} {request.url.path}", str(status), "ValidationFault"
        )

    routes = [
        *control_routes(faults),
        Route("/oauth2/v1/tokens/bearer", token, methods=["POST"]),
        Route("/v3/company/{realm_id}/query", query, methods=["GET", "POST"]),
        Route("/v3/company/{realm_id}/{entity}/{record_id}", read_one, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                RateLimitMiddleware,
                limiter=RateLimiter(limits, clock),
                errors=render_failure,
                exempt_prefixes=("/oauth2/",),
            ),
            Middleware(FaultsMiddleware, faults=faults, errors=render_failure),
        ],
        exception_handlers={404: not_found, 405: not_found},
    )
    app.state.faults = faults
    app.state.credentials = credentials
    app.state.data = data
    return app
