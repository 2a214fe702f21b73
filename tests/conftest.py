from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cache import RedisBackend
from hub.hub import Hub

from .support.hub import api_client, erp_source, running_hub, write_config
from .support.servers import redis_url

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


@pytest.fixture
async def redis_prefix() -> AsyncIterator[tuple[str, str]]:
    """The test Redis and a key prefix of the test's own, whose keys are removed afterwards; the test is
    skipped, saying why, when no Redis is configured or reachable."""
    url = redis_url()
    backend = RedisBackend(url, operation_timeout=2)
    try:
        await backend.client.ping()
    except Exception as exc:
        pytest.skip(f"Redis at {url} is not reachable: {type(exc).__name__}")
    finally:
        await backend.aclose()
    name = f"crmhub-test-{secrets.token_hex(4)}"
    yield url, name
    backend = RedisBackend(url, operation_timeout=2)
    try:
        await backend.delete_prefix(f"{name}:")
        assert [k async for k in backend.client.scan_iter(match=f"{name}:*")] == []
    finally:
        await backend.aclose()
