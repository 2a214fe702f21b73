"""Bulk writes of identity resolution: rows written through the driver read back exactly as rows written with
Core statements, on SQLite and PostgreSQL, and rows that rely on Python-side defaults still get them."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.identity.bulk import bulk_insert, bulk_update
from hub.identity.tables import IdentityRecord
from hub.store.db import Database
from hub.store.models import CustomerLink, HubCustomer

from .support.servers import fresh_pg_database

NOW = dt.datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=dt.UTC)
BERLIN = dt.timezone(dt.timedelta(hours=2))
CUSTOMERS: Any = HubCustomer.__table__
LINKS: Any = CustomerLink.__table__
_RECORD_COLUMNS = (
    *("source", "entity", "external_id", "name", "country", "attributes", "upstream_updated_at", "seen_at"),
    *("matched_source", "matched_entity", "matched_external_id", "rule", "score", "evidence"),
)


def _record(source: str, external_id: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source": source,
        "entity": "customer",
        "external_id": external_id,
        "name": f"Zürich Ærø {external_id} AG",
        "country": "CH",
        # Pairs as tuples, the way profiles hold them: JSON writes them as arrays.
        "attributes": {"company_name": (("Zürich Ærø AG", "zurich aero"),), "phone": (("1", "+411"),)},
        "upstream_updated_at": dt.datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=BERLIN),
        "seen_at": NOW,
        "matched_source": None,
        "matched_entity": None,
        "matched_external_id": None,
        "rule": "seed",
        "score": 1.0,
        "evidence": None,
    }
    row.update(overrides)
    return row


def _records() -> list[dict[str, Any]]:
    matched = {"matched_source": "erp", "matched_entity": "customer", "matched_external_id": "1"}
    evidence = [{"attribute": "phone", "method": "exact_normalized", "threshold": None, "passed": True,
                 "score": 1.0, "left": "+411", "right": "+411"}]  # fmt: skip
    return [
        _record("erp", "1"),
        _record("accounting", "A1", rule="name_and_phone", score=0.912345, evidence=evidence, **matched),
        _record("marketing", "m@x.ch", entity="marketing_member", country=None, upstream_updated_at=None),
    ]


async def _stored_records(db: Database) -> list[tuple[Any, ...]]:
    async with db.session() as session:
        rows = await session.execute(
            select(*(getattr(IdentityRecord, name) for name in _RECORD_COLUMNS)).order_by(
                IdentityRecord.source
            )
        )
        return [tuple(row) for row in rows]


@asynccontextmanager
async def _database(backend: str, tmp_path: Path, name: str) -> AsyncIterator[Database]:
    if backend == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / name}.sqlite")
        await db.migrate()
        try:
            yield db
        finally:
            await db.aclose()
        return
    async with fresh_pg_database() as url:
        db = Database(url)
        await db.migrate()
        try:
            yield db
        finally:
            await db.aclose()


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_bulk_rows_read_back_as_core_rows(backend: str, tmp_path: Path) -> None:
    table: Any = IdentityRecord.__table__
    async with _database(backend, tmp_path, "bulk") as bulk, _database(backend, tmp_path, "core") as core:
        async with bulk.transaction() as session:
            await bulk_insert(session, table, _records())
        async with core.transaction() as session:
            await session.execute(table.insert(), _records())
        stored = await _stored_records(bulk)
        assert stored == await _stored_records(core)
    by_source = {row[0]: dict(zip(_RECORD_COLUMNS, row, strict=True)) for row in stored}
    assert by_source["erp"]["attributes"] == {
        "company_name": [["Zürich Ærø AG", "zurich aero"]],
        "phone": [["1", "+411"]],
    }
    assert by_source["erp"]["upstream_updated_at"] == dt.datetime(2025, 1, 2, 1, 4, 5, 6, tzinfo=dt.UTC)
    assert by_source["erp"]["seen_at"] == NOW
    assert by_source["erp"]["evidence"] is None
    assert by_source["accounting"]["evidence"][0]["left"] == "+411"
    assert by_source["marketing"]["upstream_updated_at"] is None


@pytest.mark.parametrize("backend", BACKENDS)
async def test_bulk_updates_and_python_defaults(backend: str, tmp_path: Path) -> None:
    async with _database(backend, tmp_path, "bulk") as db:
        async with db.transaction() as session:
            # No ``created_at``/``updated_at``/``search_text``: Core fills their Python-side defaults.
            await bulk_insert(
                session,
                CUSTOMERS,
                [{"id": f"cus_{n}", "display_name": f"C{n}"} for n in range(3)],
            )
            await bulk_insert(
                session,
                LINKS,
                [
                    {
                        "hub_customer_id": f"cus_{n}",
                        "source": "erp",
                        "entity": "customer",
                        "external_id": str(n),
                        "rule": "seed",
                        "score": 1.0,
                        "manual": False,
                        "linked_at": NOW,
                    }
                    for n in range(3)
                ],
            )
        async with db.session() as session:
            links = {link.external_id: link for link in await session.scalars(select(CustomerLink))}
            created = {c.id: c for c in await session.scalars(select(HubCustomer))}
        assert all(c.created_at is not None and c.search_text == "" for c in created.values())
        async with db.transaction() as session:
            await bulk_update(
                session,
                LINKS,
                [
                    {"id": links["0"].id, "hub_customer_id": "cus_1", "rule": "email", "score": 0.5},
                    {"id": links["2"].id, "manual": True, "rule": "manual", "score": 1.0},
                ],
            )
            # Without ``updated_at``: its ``onupdate`` applies, as with Core.
            await bulk_update(session, CUSTOMERS, [{"id": "cus_2", "display_name": "Renamed"}])
        async with db.session() as session:
            after = {link.external_id: link for link in await session.scalars(select(CustomerLink))}
            renamed = await session.get(HubCustomer, "cus_2")
    assert (after["0"].hub_customer_id, after["0"].rule, after["0"].score) == ("cus_1", "email", 0.5)
    assert after["0"].linked_at == links["0"].linked_at
    assert (after["1"].rule, after["1"].manual) == ("seed", False)
    assert (after["2"].rule, after["2"].manual) == ("manual", True)
    assert renamed is not None and renamed.display_name == "Renamed"
    assert renamed.updated_at > created["cus_2"].updated_at
