"""Real servers for tests: fresh PostgreSQL databases and Redis key prefixes, skipped with a reason when the
server named by the environment is not reachable."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.engine import make_url

PG_ENV = "CRMHUB_TEST_PG_URL"
REDIS_ENV = "CRMHUB_TEST_REDIS_URL"


def pg_admin_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(reason=f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    return url


@asynccontextmanager
async def fresh_pg_database(prefix: str = "crmhub_t") -> AsyncIterator[str]:
    """Create a uniquely named database, yield its SQLAlchemy asyncpg URL, drop it afterwards."""
    import asyncpg

    admin = make_url(pg_admin_url()).set(drivername="postgresql")
    dsn = admin.render_as_string(hide_password=False)
    try:
        conn = await asyncio.wait_for(asyncpg.connect(dsn), timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL at {admin.host}:{admin.port} is not reachable: {exc}")
    name = f"{prefix}_{secrets.token_hex(4)}"
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(reason=f"Redis tests need {REDIS_ENV} (e.g. redis://127.0.0.1:6379/0)")
    return url
