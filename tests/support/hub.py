"""Building a hub for tests: the ERP silo's generated database behind the real SQL adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from hub.app import create_app
from hub.config import load_settings
from hub.hub import Hub
from hub.identity import run_identity_resolution
from hub.security.api_keys import create_api_key

GRAPHQL_RESPONSE = "application/graphql-response+json"
#: ``api_client``'s default: issue an administrator key for the client.
ADMIN = "<a new admin key>"


def erp_source(url: str, **extra: Any) -> dict[str, Any]:
    from silos.erp import MAPPING_PATH as ERP_MAPPING

    return {"name": "erp", "adapter": "sql", "config": {"url": url, "mapping": str(ERP_MAPPING), **extra}}


def write_config(directory: Path, *, database_url: str, sources: list[dict[str, Any]], **extra: Any) -> Path:
    path = directory / "crmhub.yaml"
    body = {"database_url": database_url, "identity": {"seed_sources": ["erp"]}, "sources": sources, **extra}
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


@asynccontextmanager
async def running_hub(config_path: Path, *, seed: bool = True) -> AsyncIterator[Hub]:
    hub = await Hub.start(load_settings(config_path))
    try:
        if seed:
            await run_identity_resolution(hub)
        yield hub
    finally:
        await hub.aclose()


@asynccontextmanager
async def api_client(hub: Hub, *, key: str | None = ADMIN) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``hub``'s API sending ``key`` as its bearer token: by default a fresh administrator key,
    ``None`` for no credentials at all."""
    if key is ADMIN:
        issued = await create_api_key(
            hub.db, hub.settings.security, role="admin", actor="tests", name="tests"
        )
        key = issued.key
    headers = {"authorization": f"Bearer {key}"} if key is not None else {}
    transport = httpx.ASGITransport(app=create_app(hub=hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test", headers=headers) as client:
        yield client


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    accept: str = GRAPHQL_RESPONSE,
) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers={"accept": accept}
    )
    return response.status_code, response.json()
