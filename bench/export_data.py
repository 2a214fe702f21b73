"""Data for the export benchmark: a hub database (identity map) and an ERP database (orders) on disk.

* ``generated``: the real ERP silo generator and the real identity-map seeding, for sizes up to a few
  tens of thousands (the generator makes about 700 companies/s).
* ``synthetic``: the fast path for a million rows. The hub schema comes from its own migrations; hub
  customers, their links and an ERP ``orders`` table (the ERP's own DDL) are bulk-inserted with
  ``executemany``. The export only reads those three tables, so it runs exactly as it would over the
  generated ERP, but nothing else of the ERP (companies, lines, products...) exists.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ERP_SOURCE = "erp"
CURRENCIES = ("EUR", "USD", "GBP")
COUNTRIES = ("DE", "FR", "NL", "PL", "GB", "US")
_CHUNK = 50_000
_BASE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class ExportData:
    directory: Path
    hub_db: Path
    erp_db: Path
    config: Path
    customers: int
    orders: int
    kind: str


def _config(directory: Path, hub_db: Path, erp_db: Path) -> Path:
    from silos.erp import MAPPING_PATH

    body = {
        "database_url": f"sqlite+aiosqlite:///{hub_db}",
        "identity": {"seed_sources": [ERP_SOURCE]},
        "sources": [
            {
                "name": ERP_SOURCE,
                "adapter": "sql",
                "config": {"url": f"sqlite+aiosqlite:///{erp_db}", "mapping": str(MAPPING_PATH)},
            }
        ],
    }
    path = directory / "crmhub.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        (count,) = conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()
    conn.close()
    return int(count)


# -- generated ------------------------------------------------------------------------------------------


def prepare_generated(directory: Path, customers: int, *, seed: int = 42) -> ExportData:
    """The real ERP generator and identity-map seeding (reuses what an earlier run left in ``directory``)."""
    from hub.config import load_settings
    from hub.hub import Hub
    from hub.identity import seed_identity_map
    from silos.erp.database import ensure_sqlite

    directory.mkdir(parents=True, exist_ok=True)
    erp_db = ensure_sqlite(directory / "erp.sqlite", size=customers, seed=seed)
    hub_db = directory / "hub.sqlite"
    config = _config(directory, hub_db, erp_db)

    async def seed_hub() -> None:
        hub = await Hub.start(load_settings(config))
        try:
            await seed_identity_map(hub)
        finally:
            await hub.aclose()

    asyncio.run(seed_hub())
    return ExportData(
        directory,
        hub_db,
        erp_db,
        config,
        _count(hub_db, "hub_customers"),
        _count(erp_db, "orders"),
        "generated",
    )


# -- synthetic ------------------------------------------------------------------------------------------


def _stored(moment: dt.datetime) -> str:
    # How SQLAlchemy's DateTime keeps a UTC moment in SQLite, so the hub reads these rows as its own.
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _hub_rows(customers: int) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    from hub.identity.ids import hub_customer_id

    for start in range(1, customers + 1, _CHUNK):
        people, links = [], []
        for number in range(start, min(start + _CHUNK, customers + 1)):
            hub_id = hub_customer_id(ERP_SOURCE, str(number))
            stamp = _stored(_BASE + dt.timedelta(seconds=number))
            name = f"Customer {number:07d} GmbH"
            country = COUNTRIES[number % len(COUNTRIES)]
            people.append((hub_id, name, name.lower(), country, None, stamp, stamp))
            links.append((hub_id, ERP_SOURCE, "customer", str(number), "seed", 1.0, False, stamp))
        yield people, links


def _order_rows(customers: int) -> Iterator[list[tuple[Any, ...]]]:
    """0-3 orders per customer (1.5 on average), in one or two currencies, with cent totals."""
    order_id = 0
    chunk: list[tuple[Any, ...]] = []
    for number in range(1, customers + 1):
        for n in range(number % 4):
            order_id += 1
            stamp = _stored(_BASE + dt.timedelta(hours=order_id % 10_000))
            total = f"{(number * 37 + n * 101) % 100_000}.{(number + n * 7) % 100:02d}"
            currency = CURRENCIES[(number + n) % len(CURRENCIES)] if n < 2 else CURRENCIES[number % 3]
            chunk.append(
                (order_id, f"SO-{order_id:09d}", number, stamp, "shipped", currency, total, 1, stamp)
            )
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write_erp_orders(path: Path, customers: int) -> int:
    from sqlalchemy.dialects import sqlite as sqlite_dialect
    from sqlalchemy.schema import CreateIndex, CreateTable

    from silos.erp.schema import TABLES

    dialect = sqlite_dialect.dialect()
    orders = TABLES["orders"]
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    count = 0
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN")
        conn.execute(str(CreateTable(orders).compile(dialect=dialect)))
        columns = ", ".join(f'"{column.name}"' for column in orders.columns)
        insert = f"INSERT INTO orders ({columns}) VALUES ({', '.join('?' * len(orders.columns))})"
        for chunk in _order_rows(customers):
            conn.executemany(insert, chunk)
            count += len(chunk)
        for index in orders.indexes:
            conn.execute(str(CreateIndex(index).compile(dialect=dialect)))
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return count


def _write_hub(path: Path, customers: int) -> None:
    from hub.store import Database

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

    async def migrate() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await db.migrate()
        finally:
            await db.aclose()

    asyncio.run(migrate())
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN")
        for people, links in _hub_rows(customers):
            conn.executemany(
                "INSERT INTO hub_customers (id, display_name, search_text, country, merged_into, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                people,
            )
            conn.executemany(
                "INSERT INTO customer_links (hub_customer_id, source, entity, external_id, rule, score,"
                " manual, linked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                links,
            )
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def prepare_synthetic(directory: Path, customers: int) -> ExportData:
    """The fast path: bulk-inserted identity map and ERP orders (reused when ``directory`` has them)."""
    directory.mkdir(parents=True, exist_ok=True)
    hub_db, erp_db = directory / "hub.sqlite", directory / "erp.sqlite"
    marker = directory / f"synthetic-{customers}.done"
    if not marker.exists():
        for stale in directory.glob("synthetic-*.done"):
            stale.unlink()
        orders = _write_erp_orders(erp_db, customers)
        _write_hub(hub_db, customers)
        marker.write_text(str(orders))
    config = _config(directory, hub_db, erp_db)
    return ExportData(directory, hub_db, erp_db, config, customers, int(marker.read_text()), "synthetic")
