"""``crmhub demo``: generated silos started in-process, the hub on top, GraphiQL in the browser.

Everything lives under ``data_dir`` (never inside the installed package), so a second run starts in
seconds: the silo data is rebuilt only when the size or seed changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import typer
import uvicorn
import yaml
from silos.erp.database import ensure_sqlite

from silos.erp import MAPPING_PATH as ERP_MAPPING

from .app import create_app
from .config import load_settings
from .hub import Hub
from .identity import seed_identity_map

SAMPLE_QUERY = (
    "{ customers(first: 5) { edges { node { id name orders(first: 3) { edges { node { id total } } } } } } }"
)


def demo_config(data_dir: Path, *, erp_database: Path) -> dict[str, Any]:
    return {
        "database_url": f"sqlite+aiosqlite:///{data_dir / 'hub.sqlite'}",
        "identity": {"seed_sources": ["erp"]},
        "sources": [
            {
                "name": "erp",
                "adapter": "sql",
                "config": {"url": f"sqlite+aiosqlite:///{erp_database}", "mapping": str(ERP_MAPPING)},
            }
        ],
    }


async def prepare_demo(data_dir: Path, *, size: int, seed: int) -> Path:
    """Build the demo data (if missing) and write ``crmhub.yaml``; returns the config path."""
    typer.echo(f"preparing demo data in {data_dir} ({size} customers, seed {seed}) ...")
    # Generation is CPU-bound and synchronous: keep the event loop free while it runs.
    erp = await asyncio.to_thread(ensure_sqlite, data_dir / "erp.sqlite", size=size, seed=seed)
    config_path = data_dir / "crmhub.yaml"
    config_path.write_text(yaml.safe_dump(demo_config(data_dir, erp_database=erp), sort_keys=False))
    return config_path


@asynccontextmanager
async def demo_hub(data_dir: Path, *, size: int, seed: int) -> AsyncIterator[Hub]:
    """A running hub over freshly prepared demo silos, its identity map seeded (also used by bench/)."""
    config_path = await prepare_demo(data_dir, size=size, seed=seed)
    hub = await Hub.start(load_settings(config_path))
    try:
        report = await seed_identity_map(hub)
        typer.echo(f"identity map: {report.created} new customers, {report.refreshed} refreshed")
        yield hub
    finally:
        await hub.aclose()


async def run_demo(*, data_dir: Path, size: int, seed: int, host: str, port: int) -> None:
    async with demo_hub(data_dir, size=size, seed=seed) as hub:
        server = uvicorn.Server(
            uvicorn.Config(create_app(hub=hub), host=host, port=port, log_level="warning")
        )
        typer.secho(f"\ncrmhub demo is running: open http://{host}:{port}/graphql", fg=typer.colors.GREEN)
        typer.echo(f"config: {data_dir / 'crmhub.yaml'}\ntry: {SAMPLE_QUERY}\n(Ctrl+C to stop)")
        await server.serve()
