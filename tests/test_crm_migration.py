"""Migration 0002 on SQLite and PostgreSQL: it builds exactly what the CRM models declare, seeds the default
stages, and downgrades cleanly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection

import hub.crm.models  # noqa: F401  (registers the CRM tables on the shared metadata)
from hub.crm.models import OpportunityStage
from hub.store.db import Database, alembic_config
from hub.store.models import Base

from .support.servers import fresh_pg_database


def _crm_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    differences = compare_metadata(context, Base.metadata)

    def touches_crm(diff: Any) -> bool:
        return "crm_" in repr(diff)

    return [d for d in differences if touches_crm(d)]


def _downgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "0001")


async def _check(url: str) -> None:
    db = Database(url)
    try:
        await db.migrate()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_crm_differences) == []
        async with db.session() as session:
            stages = (
                await session.scalars(select(OpportunityStage.name).order_by(OpportunityStage.position))
            ).all()
        assert stages == [
            "Prospecting",
            "Qualification",
            "Proposal",
            "Negotiation",
            "Closed Won",
            "Closed Lost",
        ]
        async with db.engine.begin() as conn:
            await conn.run_sync(_downgrade)
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert not [t for t in tables if t.startswith("crm_")] and "hub_customers" in tables
        await db.migrate()  # and back up again
    finally:
        await db.aclose()


async def test_migration_on_sqlite(tmp_path: Path) -> None:
    await _check(f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}")


@pytest.mark.postgres
async def test_migration_on_postgres() -> None:
    async with fresh_pg_database("crmhub_migration") as url:
        await _check(url)
