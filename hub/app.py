"""The ASGI application: ``/graphql`` (GraphiQL on GET), ``/metrics``, ``/health``,
``POST /hooks/{source}`` (upstream change notifications, see ``hooks.py``) and
``GET /export/customers.ndjson`` (the BI bulk export, see ``export.py``) and, with GraphiQL on,
``GET /graphiql/assets/...`` (its scripts and styles, shipped with the package so the IDE works offline)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute

from schema import build_schema
from schema.static_files import PrecompressedStaticFiles
from schema.view import GRAPHIQL_ASSETS_DIR, GRAPHIQL_ASSETS_PATH, GraphQLView

from .config import HubSettings
from .export import export_endpoint
from .hooks import hook_endpoint
from .hub import Hub
from .runtime import settle_after_startup
from .security.middleware import SecurityMiddleware
from .security.redaction import install_log_redaction


def create_app(settings: HubSettings | None = None, *, hub: Hub | None = None) -> Starlette:
    """Build the app. Pass ``settings`` to let the app start and close its own hub, or a running ``hub``."""
    chosen = hub.settings if hub is not None else settings
    if chosen is None or (settings is not None and hub is not None):
        raise ValueError("pass exactly one of settings or hub")
    view = GraphQLView(
        hub,
        schema=build_schema(
            production=chosen.environment == "production", security=chosen.security, graphql=chosen.graphql
        ),
        graphql_ide="graphiql" if chosen.graphql.graphiql else None,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        install_log_redaction()  # the server has configured its logging by now
        running = hub if hub is not None else await Hub.start(chosen)
        view.hub = running
        app.state.hub = running
        settle_after_startup()  # garbage-collector tuning, see runtime.py
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

    graphiql_assets = Mount(GRAPHIQL_ASSETS_PATH, app=PrecompressedStaticFiles(directory=GRAPHIQL_ASSETS_DIR))
    return Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route("/metrics", metrics),
            Route("/health", health),
            Route("/hooks/{source}", hook_endpoint(lambda: view.hub), methods=["POST"]),
            Route("/export/customers.ndjson", export_endpoint(lambda: view.hub), methods=["GET"]),
            *([graphiql_assets] if view.graphql_ide == "graphiql" else []),
        ],
        lifespan=lifespan,
        # Every endpoint but /health, GraphiQL's page and assets and the signed hooks needs a principal.
        middleware=[Middleware(SecurityMiddleware, hub=lambda: view.hub)],
    )
