"""The ``/graphql`` HTTP endpoint, following the GraphQL over HTTP specification.

Strawberry answers every well-formed request with ``application/json`` and 200. The specification adds
``application/graphql-response+json``: a client that accepts it gets that media type, and a request error
(syntax, validation, unknown operation: nothing executed, so no ``data``) gets 400 instead of 200.
Clients that accept only ``application/json`` keep the legacy behaviour (200), as the spec requires.

A GET asking for HTML gets GraphiQL: strawberry's page, with its scripts and styles served by the hub
itself from ``static/graphiql`` (see the README there) rather than a CDN, so the IDE works offline.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import orjson
from cross_web import HTTPException
from graphql import GraphQLError, GraphQLSyntaxError
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.extensions import SchemaExtension
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from hub.context import RequestContext
from hub.hub import Hub

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_EXECUTED = "crmhub.executed"
#: Where strawberry's GraphiQL page loads its assets from, and where the hub serves the same files
#: (laid out like the CDN's paths, so one prefix swap keeps the page's `integrity` hashes valid).
GRAPHIQL_CDN = "https://unpkg.com/"
GRAPHIQL_ASSETS_DIR = Path(__file__).parent / "static" / "graphiql"
GRAPHIQL_ASSETS_PATH = "/graphiql/assets"


def negotiate(accept: str | None) -> str | None:
    """The response media type for an ``Accept`` header; ``None`` when we can offer nothing acceptable."""
    if not accept:
        return JSON  # the spec lets servers treat a missing Accept as application/json
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media in (GRAPHQL_RESPONSE, "application/*", "*/*"):
            offer = GRAPHQL_RESPONSE
        elif media == JSON:
            offer = JSON
        else:
            continue
        if quality > 0 and (best is None or (quality, -position) > (best[0], best[1])):
            best = (quality, -position, offer)
    return best[2] if best else None


class MarkExecuted(SchemaExtension):
    """Records that execution started, which is what separates request errors from field errors."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, RequestContext):
            context.extra[_EXECUTED] = True
        yield


def _nothing_ran(result: ExecutionResult) -> bool:
    """Variables that do not fit their types fail inside graphql-core's execute, before any resolver: no
    data, and no error points at a field."""
    return result.data is None and all(error.path is None for error in result.errors or [])


def _label_request_errors(processed: GraphQLHTTPResponse, errors: list[GraphQLError]) -> None:
    """Syntax and validation errors get the codes clients branch on (as other GraphQL servers name them),
    so every error a client sees has a code; errors with a code of their own (query limits) keep it."""
    # Strawberry's response type says `list[object]`; they are the formatted error dicts.
    shown_errors = cast("list[dict[str, Any]]", processed.get("errors") or [])
    for shown, error in zip(shown_errors, errors, strict=False):
        extensions = shown.setdefault("extensions", {})
        if "code" not in extensions:
            syntax = isinstance(error, GraphQLSyntaxError)
            extensions["code"] = "GRAPHQL_PARSE_FAILED" if syntax else "GRAPHQL_VALIDATION_FAILED"


class GraphQLView(GraphQL[RequestContext, None]):
    def __init__(self, hub: Hub | None, **kwargs: Any) -> None:
        super().__init__(kwargs.pop("schema"), **kwargs)
        #: Set by the app's lifespan when the hub starts with the server.
        self.hub = hub

    async def render_graphql_ide(self, request: Any) -> Response:
        html = self.graphql_ide_html
        if self.graphql_ide == "graphiql":
            # root_path: behind a proxy that mounts the hub under a prefix, the assets live under it too.
            local = f"{request.scope.get('root_path', '')}{GRAPHIQL_ASSETS_PATH}/"
            html = html.replace(GRAPHIQL_CDN, local)
        return HTMLResponse(html)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            parsed = super().parse_json(data)
        except (UnicodeDecodeError, RecursionError):  # strawberry turns only JSONDecodeError into a 400
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        # Strawberry reads fields of whatever JSON arrived; `null`, `false` or `1` would crash it (500).
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "the request body must be a JSON object with a `query`")
        return parsed

    async def get_sub_response(self, request: Any) -> Response:
        sub = await super().get_sub_response(request)
        sub.media_type = negotiate(request.headers.get("accept")) or JSON
        return sub

    async def get_context(self, request: Any, response: Any = None) -> RequestContext:
        if self.hub is None:
            raise RuntimeError("the hub has not started; was the app's lifespan run?")
        context = RequestContext.for_hub(self.hub, request=request, response=response)
        request.state.crmhub_context = context
        return context

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        processed = await super().process_result(request, result)
        context: RequestContext | None = getattr(request.state, "crmhub_context", None)
        executed = context is not None and context.extra.get(_EXECUTED) and not _nothing_ran(result)
        if context is not None and result.errors and not executed:
            processed.pop("data", None)  # a request error carries no `data` entry at all
            _label_request_errors(processed, result.errors)
            if context.response is not None and context.response.media_type == GRAPHQL_RESPONSE:
                context.response.status_code = 400
        return processed

    def encode_json(self, data: object) -> str | bytes:
        # orjson is ~10x faster than json.dumps on a page of customers and gives the same compact JSON.
        # It refuses what JSON cannot carry exactly (integers beyond 64 bits); the stdlib writes those.
        try:
            return orjson.dumps(data)
        except TypeError:
            return super().encode_json(data)

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == GRAPHQL_RESPONSE:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
        return response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope=scope, receive=receive)
            if request.method == "POST" and negotiate(request.headers.get("accept")) is None:
                response = PlainTextResponse(
                    f"Not Acceptable: this endpoint answers {GRAPHQL_RESPONSE} or {JSON}", status_code=406
                )
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
