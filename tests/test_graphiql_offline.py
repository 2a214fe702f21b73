"""GraphiQL works without internet: the page names only the hub's own asset URLs, each answers without
credentials with the right content type, and each served file matches the page's `integrity` hash."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.routing import Route

from hub.app import create_app
from hub.hub import Hub
from schema.view import GRAPHIQL_ASSETS_DIR, GRAPHIQL_ASSETS_PATH, GraphQLView

from .support.hub import api_client
from .support.security import plain_hub

#: A <script src> or <link href> with its `integrity`, in either attribute order.
ASSET = re.compile(r'<(script|link)\b[^>]*?\b(?:src|href)="([^"]+)"[^>]*?\bintegrity="sha384-([^"]+)"', re.S)
CONTENT_TYPES = {"script": ("text/javascript", "application/javascript"), "link": ("text/css",)}


@pytest.fixture(scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with plain_hub(tmp_path_factory.mktemp("graphiql")) as running:
        yield running


async def graphiql_page(hub: Hub) -> str:
    async with api_client(hub, key=None) as anonymous:
        page = await anonymous.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    return page.text


def sha384(body: bytes) -> str:
    return base64.b64encode(hashlib.sha384(body).digest()).decode()


async def test_the_page_names_no_external_host(hub: Hub) -> None:
    page = await graphiql_page(hub)
    assert "GraphiQL.createFetcher" in page  # still strawberry's page
    assert "unpkg" not in page and "https://" not in page
    urls = re.findall(r'\b(?:src|href)="([^"]+)"', page)
    assert urls and all(url.startswith((f"{GRAPHIQL_ASSETS_PATH}/", "data:")) for url in urls), urls


async def test_every_asset_is_served_openly_and_matches_its_integrity_hash(hub: Hub) -> None:
    assets = ASSET.findall(await graphiql_page(hub))
    assert sorted(url.rsplit("/", 1)[-1] for _, url, _ in assets) == sorted(
        [
            "react.production.min.js",
            "react-dom.production.min.js",
            "js.cookie.min.js",
            "graphiql.min.css",
            "graphiql.min.js",
            "style.css",
            "index.umd.js",
        ]
    )
    async with api_client(hub, key=None) as anonymous:
        for tag, url, integrity in assets:
            response = await anonymous.get(url)
            assert response.status_code == 200, url
            assert response.headers["content-type"].split(";")[0] in CONTENT_TYPES[tag], url
            assert sha384(response.content) == integrity, url
            head = await anonymous.head(url)
            # HEAD announces what GET sends (for a precompressed file: the compressed length)
            assert (
                head.status_code == 200
                and head.headers["content-length"] == response.headers["content-length"]
            )


async def test_a_precompressed_asset_reaches_clients_with_or_without_gzip(hub: Hub) -> None:
    """graphiql.min.js is stored gzipped: browsers get those bytes as they are, other clients the original."""
    (url, integrity) = next(
        (u, i) for _, u, i in ASSET.findall(await graphiql_page(hub)) if u.endswith("graphiql.min.js")
    )
    async with api_client(hub, key=None) as anonymous:
        gzipped = await anonymous.get(url, headers={"Accept-Encoding": "gzip"})
        assert gzipped.headers["content-encoding"] == "gzip" and gzipped.headers["vary"] == "Accept-Encoding"
        assert int(gzipped.headers["content-length"]) < len(gzipped.content)  # sent compressed
        plain = await anonymous.get(url, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert int(plain.headers["content-length"]) == len(plain.content)
        assert sha384(gzipped.content) == sha384(plain.content) == integrity


async def test_each_vendored_package_ships_its_licence() -> None:
    packages = [path.parent for path in GRAPHIQL_ASSETS_DIR.rglob("LICENSE")]
    named = {path.name for path in packages}
    assert named == {
        "react@18.2.0",
        "react-dom@18.2.0",
        "js-cookie@3.0.5",
        "graphiql@3.8.3",
        "plugin-explorer@1.0.2",
    }
    assert all("MIT License" in (path / "LICENSE").read_text() for path in packages)
    assert (GRAPHIQL_ASSETS_DIR / "README.md").is_file()


async def test_nothing_else_becomes_public(hub: Hub) -> None:
    async with api_client(hub, key=None) as anonymous:
        assert (await anonymous.get(f"{GRAPHIQL_ASSETS_PATH}/nope.js")).status_code == 404
        assert (await anonymous.get(f"{GRAPHIQL_ASSETS_PATH}/")).status_code == 404  # no directory listing
        writes = await anonymous.post(f"{GRAPHIQL_ASSETS_PATH}/graphiql@3.8.3/graphiql.min.js", content=b"x")
        assert writes.status_code == 401
        for path in ("/graphiql/assets", "/graphiql/", "/metrics", "/export/customers.ndjson"):
            assert (await anonymous.get(path)).status_code == 401, path


async def raw_get(app: Any, path: str) -> tuple[int, bytes]:
    """A GET sent straight to the ASGI app: httpx would normalise `..` away, a hostile client need not."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 1),
        "server": ("hub.test", 80),
        "scheme": "http",
        "http_version": "1.1",
    }
    await app(scope, receive, send)
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


async def test_paths_cannot_climb_out_of_the_assets_folder(hub: Hub) -> None:
    app = create_app(hub=hub)
    for path in (
        f"{GRAPHIQL_ASSETS_PATH}/../../metrics",
        f"{GRAPHIQL_ASSETS_PATH}/../../view.py",
        f"{GRAPHIQL_ASSETS_PATH}/../../../hub/app.py",
    ):
        status, body = await raw_get(app, path)
        assert status == 404 and b"import" not in body, path


async def test_a_hub_under_a_path_prefix_names_its_assets_under_it(hub: Hub) -> None:
    routes = create_app(hub=hub).routes
    view = next(route.endpoint for route in routes if isinstance(route, Route) and route.path == "/graphql")
    assert isinstance(view, GraphQLView)
    response = await view.render_graphql_ide(SimpleNamespace(scope={"root_path": "/crm"}))
    assert (
        f'src="/crm{GRAPHIQL_ASSETS_PATH}/react@18.2.0/umd/react.production.min.js"'
        in bytes(response.body).decode()
    )


async def test_without_graphiql_no_assets_are_served(tmp_path_factory: pytest.TempPathFactory) -> None:
    directory = tmp_path_factory.mktemp("no-graphiql")
    async with (
        plain_hub(directory, graphql={"graphiql": False}) as running,
        api_client(running, key=None) as anonymous,
    ):
        url = f"{GRAPHIQL_ASSETS_PATH}/graphiql@3.8.3/graphiql.min.js"
        assert (await anonymous.get(url)).status_code == 404
