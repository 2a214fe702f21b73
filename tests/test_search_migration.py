"""Migrations 0005 and 0006 fold the search text of the customers and fill that of the leads already in a
hub database, on SQLite and PostgreSQL, so that searches typed without accents find them right after the
upgrade."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from hub.crm.models import Lead
from hub.store.db import Database, alembic_config
from hub.store.models import HubCustomer, utcnow

from .support.servers import fresh_pg_database

#: Search texts as the hub wrote them before 0005: lower-cased, accents and doubled spaces kept.
BEFORE = {
    "cus_a": "sistemas vázquez s.l. contacto@sistemas-vazquez.es",
    "cus_b": "dörschner  łódź gmbh",
    "cus_c": "plain ascii ltd",
}
AFTER = {
    "cus_a": "sistemas vazquez s.l. contacto@sistemas-vazquez.es",
    "cus_b": "dorschner lodz gmbh doerschner lodz gmbh",
    "cus_c": "plain ascii ltd",
}


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


#: crm_leads as revision 0005 left it: no search text yet.
LEADS_0005 = sa.table(
    "crm_leads",
    *(sa.column(name) for name in ("id", "name", "company", "email", "source", "status")),
    *(sa.column(name) for name in ("created_at", "updated_at", "created_by", "updated_by")),
)


async def _check(url: str) -> None:
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_upgrade, "0004")
        now = utcnow()
        audit = {"created_at": now, "updated_at": now}
        async with db.engine.begin() as conn:
            await conn.execute(
                insert(HubCustomer),
                [
                    {"id": key, "display_name": key, "search_text": text, **audit}
                    for key, text in BEFORE.items()
                ],
            )
        async with db.engine.begin() as conn:
            await conn.run_sync(_upgrade, "0005")
            await conn.execute(
                LEADS_0005.insert(),
                [
                    {**audit, "created_by": "t", "updated_by": "t", "source": "web", "status": "New", **lead}
                    for lead in (
                        {
                            "id": "lead_a",
                            "name": "Jürgen  Müller",
                            "company": "Dörschner GmbH",
                            "email": None,
                        },
                        {"id": "lead_b", "name": "Ann", "company": None, "email": "ann@example.com"},
                    )
                ],
            )
        await db.migrate()
        async with db.session() as session:
            rows = dict((await session.execute(select(HubCustomer.id, HubCustomer.search_text))).all())
            leads = dict((await session.execute(select(Lead.id, Lead.search_text))).all())
        assert rows == AFTER
        assert leads == {
            "lead_a": "jurgen muller juergen mueller dorschner gmbh doerschner gmbh",
            "lead_b": "ann ann@example.com",
        }
    finally:
        await db.aclose()


async def test_migration_folds_existing_search_texts_on_sqlite(tmp_path: Path) -> None:
    await _check(f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}")


@pytest.mark.postgres
async def test_migration_folds_existing_search_texts_on_postgres() -> None:
    async with fresh_pg_database("crmhub_search_migration") as url:
        await _check(url)
