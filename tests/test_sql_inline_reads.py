"""Short SQLite reads on the event loop's thread: same rows as the pool's path, handed over to the pool when
they run over budget, meet a lock or fail, and never attempted where they cannot be right."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, literal_column, select, text
from sqlalchemy.dialects.sqlite import aiosqlite as sqlite_aiosqlite
from sqlalchemy.engine import make_url

from adapters.sdk import Entity
from adapters.sql import SchemaMismatchError, SQLAdapter
from adapters.sql.config import sqlite_connect_url
from adapters.sql.driver_reads import DriverRead
from adapters.sql.inline_reads import TOO_SLOW_FOR_SECONDS, InlineReader

from .support.sql_erp import ENTITIES, load_sqlite, record_driver_reads, sql_adapters
from .support.sqlite_locks import read_while_locked

MakeAdapter = Callable[..., SQLAdapter]


@pytest.fixture
def erp_file(tmp_path: Path) -> Path:
    path = tmp_path / "erp.db"
    load_sqlite(path)
    return path


@pytest.fixture
async def make_adapter(erp_file: Path) -> AsyncIterator[MakeAdapter]:
    async with sql_adapters(f"sqlite:///{erp_file}") as make:
        yield make


@pytest.fixture
def pool_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Statements that went to an aiosqlite connection's thread."""
    return record_driver_reads(monkeypatch)


def _reader(
    path: Path, budget_seconds: float = 0.005, clock: Callable[[], float] = time.monotonic
) -> InlineReader:
    dialect = sqlite_aiosqlite.dialect()
    url = sqlite_connect_url(make_url(f"sqlite+aiosqlite:///{path}"))
    return InlineReader(url, dialect, budget_seconds=budget_seconds, max_parameters=500, clock=clock)


def _counting_to(limit_name: str) -> DriverRead:
    """A read whose work grows with its parameter: a recursive count up to it."""
    counter = text(
        f"(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :{limit_name})"
        " SELECT count(*) AS total FROM n)"
    ).bindparams(bindparam(limit_name))
    statement = select(literal_column("total")).select_from(
        counter.columns(literal_column("total")).subquery()
    )
    read = DriverRead.compile(statement, sqlite_aiosqlite.dialect())
    assert read is not None
    return read


async def test_short_reads_are_answered_on_the_loop_thread_with_the_pools_rows(
    make_adapter: MakeAdapter, pool_reads: list[str]
) -> None:
    inline, pooled = make_adapter(), make_adapter(sqlite_inline_budget_ms=0)
    assert inline.inline_reads is not None and pooled.inline_reads is None
    for adapter in (inline, pooled):
        customers = await adapter.get_many(Entity.CUSTOMER, ["3", "nope", "7"])
        orders = await adapter.find_related(Entity.ORDER, "customer_external_id", ["7", "3", "4"])
        assert [c.external_id if c else None for c in customers] == ["3", None, "7"]
        assert [[o.external_id for o in group] for group in orders] == [
            ["72", "71", "70"],
            ["32", "31", "30"],
            [],
        ]
    inline_results = [
        await inline.get_many(Entity.CUSTOMER, ["3", "7"]),
        await inline.find_related(Entity.ORDER, "customer_external_id", ["7"]),
    ]
    pooled_results = [
        await pooled.get_many(Entity.CUSTOMER, ["3", "7"]),
        await pooled.find_related(Entity.ORDER, "customer_external_id", ["7"]),
    ]
    assert inline_results == pooled_results
    assert inline.inline_reads.reads == 4 and inline.inline_reads.handed_over == 0
    # Only the budget-0 adapter's four reads went to a connection thread; both count every statement.
    assert len(pool_reads) == 4 and inline.queries_executed == pooled.queries_executed == 4


async def test_a_read_with_many_keys_goes_to_the_pool(
    make_adapter: MakeAdapter, pool_reads: list[str]
) -> None:
    adapter = make_adapter()
    many = [str(n) for n in range(1, 601)]  # past the 500 parameters tried on the loop's thread
    found = await adapter.get_many(Entity.CUSTOMER, many)
    assert sum(record is not None for record in found) == 120
    assert len(pool_reads) == 1 and adapter.inline_reads is not None and adapter.inline_reads.reads == 0


def test_a_read_over_budget_is_interrupted_and_not_tried_again_with_as_much_work(erp_file: Path) -> None:
    now = [1000.0]
    reader = _reader(erp_file, budget_seconds=0.005, clock=lambda: now[0])
    read = _counting_to("upto")
    assert reader.fetch(read, {"upto": 10}) == [{"total": 10}]
    started = time.perf_counter()
    assert reader.fetch(read, {"upto": 50_000_000}) is None  # seconds of work if it were not interrupted
    held = time.perf_counter() - started
    assert held < 0.5, f"the loop's thread was held {held:.3f}s"
    assert reader.handed_over == 1
    # The same statement with as many parameters is no longer run here; the check itself runs nothing.
    assert reader.fetch(read, {"upto": 3}) is None and reader.handed_over == 1
    # For a while: then it is tried here again.
    now[0] += TOO_SLOW_FOR_SECONDS
    assert reader.fetch(read, {"upto": 3}) == [{"total": 3}] and reader.reads == 2
    reader.close()


def test_a_locked_database_is_handed_over_at_once(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        setup.execute("INSERT INTO t VALUES (1)")
    setup.close()
    statement = (
        select(literal_column("id"))
        .select_from(text("t"))
        .where(text("id = :id").bindparams(bindparam("id")))
    )
    read = DriverRead.compile(statement, sqlite_aiosqlite.dialect())
    assert read is not None
    reader = _reader(path, budget_seconds=1.0)
    assert reader.fetch(read, {"id": 1}) == [{"id": 1}]
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")  # rollback journal: readers get SQLITE_BUSY until it ends
    try:
        started = time.perf_counter()
        assert reader.fetch(read, {"id": 1}) is None
        assert time.perf_counter() - started < 0.2  # no waiting for the lock on the loop's thread
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert reader.fetch(read, {"id": 1}) == [{"id": 1}] and reader.handed_over == 1
    reader.close()


async def test_a_locked_database_is_waited_for_off_the_loop(
    make_adapter: MakeAdapter, erp_file: Path
) -> None:
    adapter = make_adapter(sqlite_wal=False, query_timeout_s=5)
    assert (await adapter.get_many(Entity.CUSTOMER, ["1"]))[0] is not None
    update = """UPDATE "Companies" SET "Name" = 'Renamed' WHERE "CompanyID" = 1"""
    locked = await read_while_locked(erp_file, update, lambda: adapter.get_many(Entity.CUSTOMER, ["1"]))
    record = locked.result[0]
    assert record is not None and record.model_dump()["name"] == "Renamed"
    # The loop kept running while the pool waited for the writer.
    assert locked.waited >= 0.25 and locked.loop_ticks >= 10, locked
    assert adapter.inline_reads is not None and adapter.inline_reads.handed_over >= 1


def test_reads_from_another_thread_are_left_to_the_pool(erp_file: Path) -> None:
    reader = _reader(erp_file)
    read = _counting_to("upto")
    assert reader.fetch(read, {"upto": 2}) == [{"total": 2}]
    elsewhere: list[Any] = []
    thread = threading.Thread(target=lambda: elsewhere.append(reader.fetch(read, {"upto": 2})))
    thread.start()
    thread.join()
    assert elsewhere == [None] and reader.reads == 1
    reader.close()


async def test_an_error_on_the_loop_thread_is_reported_by_the_pools_path(
    make_adapter: MakeAdapter, erp_file: Path
) -> None:
    adapter = make_adapter()
    assert (await adapter.get_many(Entity.CUSTOMER, ["1"]))[0] is not None
    with sqlite3.connect(erp_file) as conn:
        conn.execute('ALTER TABLE "Companies" RENAME TO "Gone"')
    conn.close()
    with pytest.raises(SchemaMismatchError, match="no such table: Companies") as caught:
        await adapter.get_many(Entity.CUSTOMER, ["1"])
    assert caught.value.source == "erp"
    assert adapter.inline_reads is not None and adapter.inline_reads.handed_over == 1


async def test_in_memory_databases_and_a_zero_budget_never_read_on_the_loop(
    make_adapter: MakeAdapter,
) -> None:
    assert make_adapter(sqlite_inline_budget_ms=0).inline_reads is None
    memory = SQLAdapter.from_config(source="erp", config={"url": "sqlite:///:memory:", "entities": ENTITIES})
    assert isinstance(memory, SQLAdapter) and memory.inline_reads is None
    await memory.aclose()
