"""A small ERP schema with awkward identifiers (quoted CamelCase, a table name with a space, a CHAR(n)
key), loadable into SQLite and PostgreSQL, and its SQL adapter mapping; shared by the SQL adapter tests."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy.engine import make_url

from adapters.sql import SQLAdapter

# Quoted CamelCase names and a table name with a space, valid as written on both dialects.
DDL = [
    'CREATE TABLE "Companies" ("CompanyID" INTEGER PRIMARY KEY, "Name" VARCHAR(80), "City" VARCHAR(80),'
    ' "Changed" TIMESTAMP)',
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, company_id INTEGER, placed_at TIMESTAMP, amount NUMERIC(12, 2))",
    'CREATE TABLE "Order Lines" ("OrderNo" INTEGER, "LineNo" INTEGER, "Sku" VARCHAR(20), "Qty" INTEGER,'
    ' "Price" DOUBLE PRECISION, PRIMARY KEY ("OrderNo", "LineNo"))',
    "CREATE TABLE tags (code CHAR(6) PRIMARY KEY, label VARCHAR(20))",  # PostgreSQL pads CHAR(n) keys
]
COMPANIES = 120
BASE = dt.datetime(2024, 1, 1, 8, 0, 0)


def _rows() -> dict[str, list[tuple[Any, ...]]]:
    companies = [
        (i, f"Company {i:03d}", f"City {i % 7}", BASE + dt.timedelta(hours=i)) for i in range(1, 121)
    ]
    orders, lines = [], []
    for company in range(1, COMPANIES + 1):
        for n in range(company % 4):  # 0..3 orders per company
            order_id = company * 10 + n
            orders.append((order_id, company, BASE + dt.timedelta(days=n), Decimal(f"{company}.{n}5")))
            lines += [(order_id, line, f"SKU-{line}", line + 2, 19.99) for line in (1, 2)]
    tags = [("AB", "short"), ("ABCDEF", "full")]
    return {"Companies": companies, "orders": orders, "Order Lines": lines, "tags": tags}


ROWS = _rows()


def endless_query(db_url: str) -> dict[str, Any]:
    """A product entity whose query runs until query_timeout_s stops it."""
    if db_url.startswith("sqlite"):
        endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT MAX(i) AS id FROM n"
    else:
        endless = "SELECT 1 AS id FROM pg_sleep(30)"
    return {"product": {"query": endless, "key": "id", "fields": {"name": "id"}}}


def load_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(";".join(DDL))
        for name, rows in ROWS.items():
            values = [tuple(map(sqlite_value, row)) for row in rows]
            conn.executemany(f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(rows[0]))})', values)
    conn.close()


def sqlite_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")  # SQLite keeps timestamps as text
    return str(value) if isinstance(value, Decimal) else value


async def load_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        for statement in DDL:
            await conn.execute(statement)
        for name, rows in ROWS.items():
            await conn.copy_records_to_table(name, records=rows)
    finally:
        await conn.close()


ENTITIES: dict[str, Any] = {
    "customer": {
        "table": "Companies",
        "key": "CompanyID",
        "updated_at": "Changed",
        "fields": {"name": "Name", "address.city": "City"},
    },
    "order": {
        "table": "orders",
        "key": "id",
        "order_by": "ordered_at desc",
        "fields": {"customer_external_id": "company_id", "ordered_at": "placed_at", "total": "amount"},
        "constants": {"currency": "EUR"},
    },
    "order_line": {
        "table": "Order Lines",
        "key": ["OrderNo", "LineNo"],
        "fields": {
            "order_external_id": "OrderNo",
            "description": "Sku",
            "quantity": "Qty",
            "unit_price": "Price",
            "amount": {"expr": '"Qty" * "Price"'},
        },
    },
    "product": {"table": "tags", "key": "code", "fields": {"name": "label"}},
}


@asynccontextmanager
async def sql_adapters(default_url: str) -> AsyncIterator[Callable[..., SQLAdapter]]:
    """Makes SQL adapters over ``default_url`` (or another ``url``) with the ERP mapping (or ``entities``)
    and options; closes them all on exit."""
    made: list[SQLAdapter] = []

    def make(url: str = default_url, entities: dict[str, Any] | None = None, **options: Any) -> SQLAdapter:
        config = {"url": url, "entities": ENTITIES if entities is None else entities, **options}
        adapter = SQLAdapter.from_config(source="erp", config=config)
        assert isinstance(adapter, SQLAdapter)
        made.append(adapter)
        return adapter

    try:
        yield make
    finally:
        for adapter in made:
            await adapter.aclose()


def record_driver_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, each statement that goes to an aiosqlite connection's thread as one driver read."""
    statements: list[str] = []
    fetch_all = aiosqlite.Connection.execute_fetchall

    async def counted(self: aiosqlite.Connection, sql: str, parameters: Any = None) -> Any:
        statements.append(sql)
        return await fetch_all(self, sql, parameters)

    monkeypatch.setattr(aiosqlite.Connection, "execute_fetchall", counted)
    return statements
