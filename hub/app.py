"""The ASGI application: ``/graphql`` (GraphiQL on GET), ``/metrics``, ``/health``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from schema import build_schema
from schema.view import GraphQLView

from .config import HubSettings
from .hub import Hub

HubFactory = Callable[[], Awaitable[Hub]]


def create_app(settings: HubSettings | None = None, *, hub: Hub | None = None) -> Starlette:
    """Build the app. Pass ``settings`` to let the app start and close its own hub, or a running ``hub``."""
    if (settings is None) == (hub is None):
        raise ValueError("pass exactly one of settings or hub")
    production = (hub.settings if hub else settings).environment == "production"  # type: ignore[union-attr]
    graphiql = (hub.settings if hub else settings).graphql.graphiql  # type: ignore[union-attr]
    view = GraphQLView(hub, schema=build_schema(production=production), graphql_ide="graphiql" if graphiql else None)  # type: ignore[arg-type]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        running = hub or await Hub.start(settings)  # type: ignore[arg-type]
        view.hub = running
        app.state.hub = running
        try:
            yield
        finally:
            if hub is None:
                await running.aclose()

    async def metrics(request: Request) -> Response:
        return Response(view.hub.metrics.render(), media_type=view.hub.metrics.content_type)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route("/metrics", metrics),
            Route("/health", health),
        ],
        lifespan=lifespan,
    )
