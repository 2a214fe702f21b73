"""The ASGI application: ``/graphql`` (GraphiQL on GET), ``/metrics``, ``/health``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from schema import build_schema
from schema.view import GraphQLView

from .config import HubSettings
from .hub import Hub


def create_app(settings: HubSettings | None = None, *, hub: Hub | None = None) -> Starlette:
    """Build the app. Pass ``settings`` to let the app start and close its own hub, or a running ``hub``."""
    chosen = hub.settings if hub is not None else settings
    if chosen is None or (settings is not None and hub is not None):
        raise ValueError("pass exactly one of settings or hub")
    view = GraphQLView(
        hub,
        schema=build_schema(production=chosen.environment == "production"),
        graphql_ide="graphiql" if chosen.graphql.graphiql else None,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        running = hub if hub is not None else await Hub.start(chosen)
        view.hub = running
        app.state.hub = running
        try:
            yield
        finally:
            if hub is None:
                await running.aclose()

    async def metrics(request: Request) -> Response:
        running = view.hub
        if running is None:
            return Response("starting", status_code=503)
        return Response(running.metrics.render(), media_type=running.metrics.content_type)

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
