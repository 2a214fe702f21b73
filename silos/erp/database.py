"""Writers that put a generated ERP into a real database.

* ``write_sqlite``: a SQLite file via the stdlib driver, built in a temporary file and renamed into place,
  so an interrupted run never leaves a half-written database behind.
* ``write_database``: any SQLAlchemy async URL in one transaction; PostgreSQL is loaded with ``COPY``.
* ``ensure_sqlite``: build a SQLite file only when it is missing or was generated with other parameters.

Rows are inserted company chunk by company chunk, each chunk's tables in dependency order, so foreign keys
hold at every point and the whole dataset is never in memory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Numeric, Table
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.schema import AddConstraint, CreateIndex, CreateTable

from .generator import COMPANY_TABLES, REFERENCE_TABLES, TABLES_IN_ORDER, ErpGenerator
from .schema import TABLES, erp_meta, metadata

Row = dict[str, Any]

DEFAULT_COMPANIES_PER_CHUNK = 2000
_ALL_TABLES = [TABLES[name] for name in TABLES_IN_ORDER] + [erp_meta]
_SQLITE_PRAGMAS = (
    # The file is private until renamed into place, so durability during the build buys nothing.
    "journal_mode = OFF",
    "synchronous = OFF",
    "locking_mode = EXCLUSIVE",
    "temp_store = MEMORY",
    "cache_size = -131072",  # 128 MiB
)


def _table_batches(generator: ErpGenerator, companies_per_chunk: int) -> Iterable[tuple[Table, list[Row]]]:
    """(table, rows) in an order that satisfies every foreign key: reference tables, then company chunks."""
    for name in REFERENCE_TABLES:
        yield TABLES[name], list(generator.rows(name))
    for chunk in generator.chunks(companies_per_chunk):
        for name in COMPANY_TABLES:
            yield TABLES[name], chunk[name]


def _meta_rows(generator: ErpGenerator, counts: Mapping[str, int]) -> list[Row]:
    values = {**generator.params(), **{f"rows.{name}": str(count) for name, count in counts.items()}}
    return [{"key": key, "value": value} for key, value in values.items()]


# -- SQLite ---------------------------------------------------------------------------------------------


def _sqlite_timestamp(value: dt.datetime | None) -> str | None:
    # The layout SQLAlchemy itself uses for DateTime on SQLite, so typed reads and comparisons agree.
    return None if value is None else value.isoformat(" ", "microseconds")


def _sqlite_number(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _sqlite_encoder(table: Table) -> Callable[[Row], Sequence[Any]]:
    """Row dict -> parameters, with the conversions the stdlib driver does not do on its own."""
    names = [column.name for column in table.columns]
    conversions: list[tuple[int, Callable[[Any], Any]]] = []
    for position, column in enumerate(table.columns):
        if isinstance(column.type, Numeric):
            conversions.append((position, _sqlite_number))
        elif isinstance(column.type, DateTime):
            conversions.append((position, _sqlite_timestamp))
    if len(names) == 1:
        only = names[0]
        return lambda row: (row[only],)
    getter = itemgetter(*names)  # builds the tuple in C; only a few columns need converting
    if not conversions:
        return getter

    def encode(row: Row) -> Sequence[Any]:
        values = list(getter(row))
        for position, convert in conversions:
            values[position] = convert(values[position])
        return values

    return encode


def _insert_sql(table: Table) -> str:
    columns = ", ".join(f'"{column.name}"' for column in table.columns)
    marks = ", ".join("?" for _ in table.columns)
    return f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})'


def _fill_sqlite(generator: ErpGenerator, path: Path, companies_per_chunk: int) -> dict[str, int]:
    dialect = sqlite_dialect.dialect()
    counts = dict.fromkeys(TABLES_IN_ORDER, 0)
    encoders = {table.name: _sqlite_encoder(table) for table in _ALL_TABLES}
    inserts = {table.name: _insert_sql(table) for table in _ALL_TABLES}
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in _SQLITE_PRAGMAS:
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("BEGIN")
        for table in _ALL_TABLES:
            conn.execute(str(CreateTable(table).compile(dialect=dialect)))
        for table, rows in _table_batches(generator, companies_per_chunk):
            conn.executemany(inserts[table.name], map(encoders[table.name], rows))
            counts[table.name] += len(rows)
        meta = _meta_rows(generator, counts)
        conn.executemany(inserts[erp_meta.name], map(encoders[erp_meta.name], meta))
        # Indexes are cheaper to build once over the loaded tables than to maintain row by row.
        for table in _ALL_TABLES:
            for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
                conn.execute(str(CreateIndex(index).compile(dialect=dialect)))
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return counts


def write_sqlite(
    generator: ErpGenerator, path: Path | str, *, companies_per_chunk: int = DEFAULT_COMPANIES_PER_CHUNK
) -> dict[str, int]:
    """Write the generator's database to the SQLite file ``path`` (replacing it); rows per table."""
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a directory; give the path of the SQLite file to write")
    target.parent.mkdir(parents=True, exist_ok=True)
    # A unique sibling that SQLite creates itself (so it gets the usual permissions, unlike mkstemp's 0600);
    # the final rename stays on one filesystem and is atomic.
    temporary = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.building")
    try:
        counts = _fill_sqlite(generator, temporary, companies_per_chunk)
        with open(temporary, "rb") as built:
            os.fsync(built.fileno())  # the rename must not overtake the data on a crash
        # A WAL or journal left by a reader of the previous file would be replayed onto the new one.
        for suffix in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{target}{suffix}")
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return counts


def read_sqlite_meta(path: Path | str) -> dict[str, str] | None:
    """The ``erp_meta`` of an ERP SQLite file, or ``None`` if it is missing or not an ERP database."""
    source = Path(path)
    if not source.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        return dict(conn.execute("SELECT key, value FROM erp_meta").fetchall())
    except sqlite3.Error:  # not a database, or one without erp_meta
        return None
    finally:
        conn.close()


def ensure_sqlite(path: Path | str, size: int, seed: int = 42, *, orders_per_customer: float = 8.0) -> Path:
    """The SQLite ERP at ``path``, (re)built only if it is missing or was generated with other parameters
    (size, seed, orders per customer, generator or Faker version)."""
    target = Path(path)
    generator = ErpGenerator(size, seed=seed, orders_per_customer=orders_per_customer)
    meta = read_sqlite_meta(target)
    wanted = generator.params()
    if meta is None or any(meta.get(key) != value for key, value in wanted.items()):
        write_sqlite(generator, target)
    return target


# -- any SQLAlchemy async URL ---------------------------------------------------------------------------


def _async_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"not a database URL: {url!r}") from None
    # Accept the plain URLs people type and pick the async driver crmhub ships with.
    drivers = {
        "postgresql": "postgresql+asyncpg",
        "postgres": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
    }
    if parsed.drivername in drivers:
        parsed = parsed.set(drivername=drivers[parsed.drivername])
    return parsed.render_as_string(hide_password=False)


def _create_schema(sync: Connection, *, deferred: bool) -> None:
    """Replace the ERP tables. With ``deferred``, foreign keys and indexes wait for ``_finish_schema``."""
    metadata.drop_all(sync, checkfirst=True)
    if not deferred:
        metadata.create_all(sync)
        return
    for table in _ALL_TABLES:
        sync.execute(CreateTable(table, include_foreign_key_constraints=[]))


def _finish_schema(sync: Connection) -> None:
    for table in _ALL_TABLES:
        for constraint in sorted(table.foreign_key_constraints, key=lambda fk: tuple(fk.column_keys)):
            sync.execute(AddConstraint(constraint))
        for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
            sync.execute(CreateIndex(index))
        sync.exec_driver_sql(f'ANALYZE "{table.name}"')


async def _copy_rows(conn: AsyncConnection, table: Table, rows: list[Row]) -> None:
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    names = [column.name for column in table.columns]
    records = [tuple(row[name] for name in names) for row in rows]
    await driver.copy_records_to_table(table.name, records=records, columns=names)


async def write_database(
    generator: ErpGenerator, url: str, *, companies_per_chunk: int = DEFAULT_COMPANIES_PER_CHUNK
) -> dict[str, int]:
    """Write the generator's database through an SQLAlchemy async URL (replacing existing ERP tables), in
    one transaction; rows per table. PostgreSQL via asyncpg is loaded with COPY."""
    engine = create_async_engine(_async_url(url))
    counts = dict.fromkeys(TABLES_IN_ORDER, 0)
    try:
        async with engine.begin() as conn:
            use_copy = conn.dialect.name == "postgresql" and conn.dialect.driver == "asyncpg"
            await conn.run_sync(lambda sync: _create_schema(sync, deferred=use_copy))
            for table, rows in _table_batches(generator, companies_per_chunk):
                if not rows:
                    continue
                if use_copy:
                    await _copy_rows(conn, table, rows)
                else:
                    await conn.execute(table.insert(), rows)
                counts[table.name] += len(rows)
            await conn.execute(erp_meta.insert(), _meta_rows(generator, counts))
            if use_copy:
                await conn.run_sync(_finish_schema)
    finally:
        await engine.dispose()
    return counts
