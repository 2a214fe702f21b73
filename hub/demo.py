"""``crmhub demo``: generated silos started in-process, the hub on top, GraphiQL in the browser.

Everything lives under ``data_dir`` (never inside the installed package), so a second run starts in
seconds: the silo data is rebuilt only when the size or seed changes.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import typer
import uvicorn
import yaml

from adapters.marketing import MarketingAdapter
from silos.erp import MAPPING_PATH as ERP_MAPPING
from silos.erp.database import ensure_sqlite
from silos.server import RunningSilos, run_silos

from .app import create_app
from .config import load_settings
from .crm.demo import seed_demo_crm
from .hub import Hub
from .identity import run_identity_resolution
from .security.demo import ADMIN_KEY_ENV, issue_demo_keys, print_demo_keys

SAMPLE_QUERY = (
    "{ customers(first: 5) { edges { node { id name orders(first: 3) { edges { node { id total } } } } } } }"
)


def demo_config(data_dir: Path, *, erp_database: Path, silos: RunningSilos | None = None) -> dict[str, Any]:
    sources = [
        {
            "name": "erp",
            "adapter": "sql",
            "config": {"url": f"sqlite+aiosqlite:///{erp_database}", "mapping": str(ERP_MAPPING)},
        },
        *(rest_sources(silos) if silos is not None else []),
    ]
    return {
        "database_url": f"sqlite+aiosqlite:///{data_dir / 'hub.sqlite'}",
        "identity": {"seed_sources": ["erp"]},
        "sources": sources,
        # A change hook per source (new secrets on every start, like the demo's API keys), so that
        # ``crmhub hooks send`` can show a cached record being dropped.
        "hooks": {source["name"]: {"secret": secrets.token_urlsafe(24)} for source in sources},
    }


def rest_sources(silos: RunningSilos) -> list[dict[str, Any]]:
    """The accounting, support and marketing sources of ``crmhub.yaml`` for running silos."""
    books, desk, audience = silos.accounting, silos.support, silos.marketing
    # The hub retries with its own deadline-aware policy; the adapters' own 429 retries would wait out a
    # Retry-After without knowing the request's deadline.
    http = {"max_attempts": 1}
    return [
        {
            "name": "accounting",
            "adapter": "accounting",
            "config": {
                "base_url": books.base_url,
                "realm_id": books.credentials.realm_id,
                "client_id": books.credentials.client_id,
                "client_secret": books.credentials.client_secret,
                **http,
            },
        },
        {
            "name": "support",
            "adapter": "support",
            "config": {
                "base_url": desk.base_url,
                "email": desk.credentials.email,
                "api_token": desk.credentials.api_token,
                **http,
            },
        },
        {
            "name": "marketing",
            "adapter": "marketing",
            "config": {
                "base_url": audience.base_url,
                "api_key": audience.credentials.api_key,
                "list_id": audience.data.list_id,
                **http,
            },
        },
    ]


async def prepare_demo(data_dir: Path, *, size: int, seed: int, silos: RunningSilos | None = None) -> Path:
    """Build the demo data (if missing) and write ``crmhub.yaml`` (with a source per running REST silo);
    returns the config path."""
    typer.echo(f"preparing demo data in {data_dir} ({size} customers, seed {seed}) ...")
    # Generation is CPU-bound and synchronous: keep the event loop free while it runs.
    erp = await asyncio.to_thread(ensure_sqlite, data_dir / "erp.sqlite", size=size, seed=seed)
    config_path = data_dir / "crmhub.yaml"
    config = demo_config(data_dir, erp_database=erp, silos=silos)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return config_path


@asynccontextmanager
async def demo_hub(data_dir: Path, *, size: int, seed: int, crm: bool = True) -> AsyncIterator[Hub]:
    """A running hub over freshly prepared demo silos, its identity map seeded and (with ``crm``) the CRM
    store seeded with territories, reps, leads, opportunities and notes. Also used by bench/.

    The accounting, support and marketing silos (same size and seed as the ERP) run in-process for as
    long as the hub does."""
    async with run_silos(size, seed) as silos:
        for handle in silos:
            typer.echo(f"{handle.name} silo: {handle.base_url}")
        config_path = await prepare_demo(data_dir, size=size, seed=seed, silos=silos)
        async with _started_hub(config_path, data_dir, crm=crm) as hub:
            await _fill_local_copies(hub)
            yield hub


async def _fill_local_copies(hub: Hub) -> None:
    """The marketing adapter answers batches from a local copy of the audience: fill it now rather than
    in the first query."""
    for name in hub.sources.names():
        adapter = hub.sources.adapter(name)
        if isinstance(adapter, MarketingAdapter):
            await adapter.refresh()


@asynccontextmanager
async def _started_hub(config_path: Path, data_dir: Path, *, crm: bool) -> AsyncIterator[Hub]:
    hub = await Hub.start(load_settings(config_path))
    try:
        report = await run_identity_resolution(hub)
        typer.echo(
            f"identity resolution: {report.records_total} records, {report.customers} customers "
            f"({report.write.customers_created} new), {report.links} links in {report.seconds:.1f}s"
        )
        if crm:
            seeded = await seed_demo_crm(
                hub, erp_database_url=f"sqlite+aiosqlite:///{data_dir / 'erp.sqlite'}"
            )
            created = ", ".join(f"{n} {kind}" for kind, n in seeded.created.items()) or "nothing new"
            typer.echo(f"CRM demo data: {created}")
        yield hub
    finally:
        await hub.aclose()


async def run_demo(*, data_dir: Path, size: int, seed: int, sock: socket.socket) -> None:
    host, port = sock.getsockname()[:2]
    if ":" in host:  # IPv6 literals are bracketed in URLs
        host = f"[{host}]"
    async with demo_hub(data_dir, size=size, seed=seed) as hub:
        keys = await issue_demo_keys(hub, admin_key=os.environ.get(ADMIN_KEY_ENV) or None)
        server = uvicorn.Server(uvicorn.Config(create_app(hub=hub), log_level="warning"))
        typer.secho(f"\ncrmhub demo is running: open http://{host}:{port}/graphql", fg=typer.colors.GREEN)
        print_demo_keys(keys, f"http://{host}:{port}")
        config = data_dir / "crmhub.yaml"
        typer.echo(
            f"\nconfig: {config}\ntry: {SAMPLE_QUERY}\n"
            "tell the hub a record changed upstream (a signed POST /hooks/{source}; it drops the cached "
            f"copy):\n  crmhub hooks send accounting --entity invoice --id <an invoice id> --config {config} "
            f"--url http://{host}:{port}\n(Ctrl+C to stop)"
        )
        await server.serve(sockets=[sock])
