"""The HTTP gate in front of every endpoint: authenticate, rate-limit, check the route's permission,
compute the request's access scope and make it active for everything the request does.

Open without credentials: ``GET /health``, GraphiQL's HTML page (``GET /graphql`` asking for HTML
with no ``query``: it holds no data, and the key is typed into its headers editor) and that page's
scripts and styles (``GET``/``HEAD`` under ``/graphiql/assets/``: public files shipped with the package).
``/hooks/{source}`` authenticates its callers itself, by the HMAC signature of each source's shared
secret (``hooks.py``).
Everything else answers 401 with a ``WWW-Authenticate: Bearer`` challenge unless it carries a valid API
key or JWT.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import orjson
from starlette.datastructures import Headers, QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from . import permissions as p
from .attached import attach
from .errors import AuthenticationError, AuthUnavailableError
from .scope import activate, compute_scope

if TYPE_CHECKING:
    from hub.hub import Hub

log = logging.getLogger("crmhub.security")

PUBLIC_PATHS = frozenset({"/health"})
#: Static files anyone may read (GET/HEAD only); must match ``schema.view.GRAPHIQL_ASSETS_PATH``.
PUBLIC_ASSET_PREFIXES = ("/graphiql/assets/",)
#: Routes that authenticate their callers themselves (signed change notifications from the silos).
SELF_AUTHENTICATED_PREFIXES = ("/hooks/",)
#: What a route needs beyond being authenticated; GraphQL checks per field instead.
ROUTE_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("/metrics", p.METRICS_READ),
    ("/export/", p.CUSTOMER_EXPORT),
)
REALM = "crmhub"
_UNSAFE_IN_QUOTES = re.compile(r'["\\\r\n]')


def is_graphiql_page(scope: Scope) -> bool:
    """Mirrors strawberry's ``should_render_graphql_ide``: only then is a GET of /graphql open."""
    if scope["type"] != "http" or scope.get("method") != "GET" or scope.get("path") != "/graphql":
        return False
    if QueryParams(scope.get("query_string", b"")).get("query") is not None:
        return False
    accept = Headers(scope=scope).get("accept", "")
    return "text/html" in accept or "*/*" in accept


def is_public_asset(scope: Scope) -> bool:
    return (
        scope["type"] == "http"
        and scope.get("method") in ("GET", "HEAD")
        and scope.get("path", "").startswith(PUBLIC_ASSET_PREFIXES)
    )


def is_open(scope: Scope) -> bool:
    path = scope.get("path", "")
    return (
        path in PUBLIC_PATHS
        or path.startswith(SELF_AUTHENTICATED_PREFIXES)
        or is_graphiql_page(scope)
        or is_public_asset(scope)
    )


def route_permission(path: str) -> str | None:
    for prefix, permission in ROUTE_PERMISSIONS:
        if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
            return permission
    return None


def _error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def unauthorized(error: AuthenticationError) -> Response:
    challenge = f'Bearer realm="{REALM}"'
    if error.token_presented:
        description = _UNSAFE_IN_QUOTES.sub(" ", error.description)
        challenge += f', error="invalid_token", error_description="{description}"'
    return _error_response(401, "UNAUTHENTICATED", error.description, {"www-authenticate": challenge})


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, *, hub: Callable[[], Hub | None]) -> None:
        self.app = app
        self._hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or is_open(scope):
            await self.app(scope, receive, send)
            return
        hub = self._hub()
        if hub is None:
            await self._refuse(scope, receive, send, Response("starting", status_code=503))
            return
        security = hub.security
        client = scope.get("client") or ("unknown", 0)
        try:
            principal = await security.authenticator.authenticate(Headers(scope=scope).get("authorization"))
        except AuthenticationError as exc:
            # Failed attempts count against the caller's address, so guessing is throttled too.
            decision = await security.rate_limiter.check(f"unauthenticated:{client[0]}")
            response = self._too_many(decision.limit, decision.reset_after) if not decision.allowed else None
            await self._refuse(scope, receive, send, response or unauthorized(exc))
            return
        except AuthUnavailableError as exc:
            log.warning("authentication unavailable: %s", exc)
            response = _error_response(503, "AUTH_UNAVAILABLE", "credentials cannot be checked right now")
            await self._refuse(scope, receive, send, response)
            return
        decision = await security.rate_limiter.check(principal.id)
        if not decision.allowed:
            await self._refuse(scope, receive, send, self._too_many(decision.limit, decision.reset_after))
            return
        needed = route_permission(scope.get("path", ""))
        if needed is not None and not principal.allows(needed):
            response = _error_response(403, "FORBIDDEN", f"this endpoint needs the {needed!r} permission")
            await self._refuse(scope, receive, send, response)
            return
        access = await compute_scope(hub.db, principal)
        attach(scope, principal, access)
        with activate(access):
            await self.app(scope, receive, self._with_rate_headers(send, decision.limit, decision.remaining))

    def _too_many(self, limit: int, reset_after: int) -> Response:
        return _error_response(
            429,
            "RATE_LIMITED",
            f"too many requests: at most {limit} per window; retry in {reset_after} s",
            {"retry-after": str(reset_after)},
        )

    @staticmethod
    def _with_rate_headers(send: Send, limit: int, remaining: int) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-ratelimit-limit", str(limit).encode()))
                headers.append((b"x-ratelimit-remaining", str(remaining).encode()))
                message = {**message, "headers": headers}
            await send(message)

        return sending

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, response: Response) -> None:
        if scope["type"] == "websocket":
            await WebSocketClose(code=1008, reason=f"refused ({response.status_code})")(scope, receive, send)
            return
        await response(scope, receive, send)
