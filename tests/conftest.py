from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hub.hub import Hub

from .support.hub import api_client, erp_source, running_hub, write_config

REPO = Path(__file__).resolve().parents[1]
NORTHWIND = REPO.parent / "shared" / "data" / "northwind"
ERP_TEST_SIZE = 120


@pytest.fixture(scope="session")
def northwind_dir() -> Path:
    if not (NORTHWIND / "sqlite" / "create.sql").exists():
        pytest.skip(f"the Northwind sample database is absent (expected at {NORTHWIND})")
    return NORTHWIND


@pytest.fixture(scope="session")
def erp_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ERP silo's generated database, built once per test run."""
    from silos.erp.database import ensure_sqlite

    return ensure_sqlite(tmp_path_factory.mktemp("erp") / "erp.sqlite", size=ERP_TEST_SIZE, seed=7)


@pytest.fixture(scope="session")
async def erp_hub(erp_sqlite: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    """A hub over the ERP silo with its identity map seeded; shared by read-only tests."""
    directory = tmp_path_factory.mktemp("hub")
    config = write_config(
        directory,
        database_url=f"sqlite+aiosqlite:///{directory / 'hub.sqlite'}",
        sources=[erp_source(f"sqlite+aiosqlite:///{erp_sqlite}")],
        cache={"enabled": False},  # tests count the upstream queries each request makes
    )
    async with running_hub(config) as hub:
        yield hub


@pytest.fixture
async def client(erp_hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(erp_hub) as c:
        yield c
