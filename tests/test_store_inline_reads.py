"""Reads of the hub's SQLite database on the event loop's thread: the same rows and the same access scope as
the async engine, handed back to the engine when over budget, locked or writing, and never used where they
cannot be right (in-memory databases, a zero budget)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Integer, bindparam, column, inspect, make_url, select, text
from sqlalchemy.orm import Session

from hub.loaders import _customers_with_links, _read_customers_with_links
from hub.security.scope import NOTHING, activate
from hub.store.db import Database
from hub.store.inline import InlineReads, InlineReadUnavailable
from hub.store.models import CustomerLink, HubCustomer

from .support.sqlite_locks import read_while_locked


@pytest.fixture
async def hub_file(tmp_path: Path) -> Path:
    path = tmp_path / "hub.sqlite"
    database = Database(f"sqlite+aiosqlite:///{path}")
    await database.migrate()
    async with database.transaction() as session:
        session.add(HubCustomer(id="c1", display_name="Acme"))
        await session.flush()
        session.add(HubCustomer(id="c2", display_name="Globex", merged_into="c1"))
        session.add(CustomerLink(hub_customer_id="c1", source="erp", external_id="7", rule="manual"))
    await database.aclose()
    return path


@pytest.fixture
async def open_db(hub_file: Path) -> AsyncIterator[list[Database]]:
    opened: list[Database] = []
    yield opened
    for database in opened:
        await database.aclose()


def _db(opened: list[Database], path: Path, **options: float) -> Database:
    database = Database(f"sqlite+aiosqlite:///{path}", **options)
    opened.append(database)
    return database


def _customers(session: Session) -> list[tuple[str, str, list[str]]]:
    rows = session.scalars(select(HubCustomer).order_by(HubCustomer.id)).all()
    links = session.scalars(select(CustomerLink)).all()
    return [
        (row.id, row.display_name, [link.external_id for link in links if link.hub_customer_id == row.id])
        for row in rows
    ]


async def test_a_read_runs_on_the_loop_thread_with_the_engines_answer(
    hub_file: Path, open_db: list[Database]
) -> None:
    inline, engine_only = _db(open_db, hub_file), _db(open_db, hub_file, inline_read_budget_ms=0)
    assert inline.inline_reads is not None and engine_only.inline_reads is None
    expected = [("c1", "Acme", ["7"]), ("c2", "Globex", [])]
    assert await inline.read(_customers) == await engine_only.read(_customers) == expected
    assert inline.inline_reads.reads == 1 and inline.inline_reads.handed_over == 0
    # The objects outlive the session with their columns loaded, as the engine's do.
    customer = await inline.read(lambda session: session.get(HubCustomer, "c2"))
    assert customer is not None and customer.merged_into == "c1"


async def test_the_access_scope_applies_on_the_loop_thread(hub_file: Path, open_db: list[Database]) -> None:
    database = _db(open_db, hub_file)
    with activate(NOTHING):
        assert await database.read(_customers) == []
    assert database.inline_reads is not None and database.inline_reads.reads == 1
    assert [row[0] for row in await database.read(_customers)] == ["c1", "c2"]


async def test_a_read_over_budget_goes_to_the_engine(hub_file: Path, open_db: list[Database]) -> None:
    database = _db(open_db, hub_file, inline_read_budget_ms=5)
    assert database.inline_reads is not None
    heavy = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :upto) SELECT count(*) FROM n"
    )
    started = time.perf_counter()
    with pytest.raises(InlineReadUnavailable):
        database.inline_reads.run(lambda session: session.scalar(heavy, {"upto": 50_000_000}))
    assert time.perf_counter() - started < 0.5  # seconds of work, interrupted after its budget
    # Through Database.read the same kind of read completes on the engine.
    assert await database.read(lambda session: session.scalar(heavy, {"upto": 200_000})) == 200_000
    assert database.inline_reads.handed_over == 2 and database.inline_reads.reads == 0


async def test_a_locked_database_is_waited_for_off_the_loop(hub_file: Path, open_db: list[Database]) -> None:
    database = _db(open_db, hub_file)
    assert database.inline_reads is not None
    update = "UPDATE hub_customers SET display_name = 'Renamed' WHERE id = 'c1'"
    locked = await read_while_locked(hub_file, update, lambda: database.read(_customers))
    assert locked.result[0][:2] == ("c1", "Renamed")
    # The loop ran on while the engine waited for the writer.
    assert locked.waited >= 0.25 and locked.loop_ticks >= 10, locked
    assert database.inline_reads.handed_over == 1


async def test_writes_are_refused_on_the_loop_thread(hub_file: Path, open_db: list[Database]) -> None:
    database = _db(open_db, hub_file)
    assert database.inline_reads is not None

    def write(session: Session) -> None:
        session.add(HubCustomer(id="c3", display_name="Initech"))
        session.commit()

    with pytest.raises(InlineReadUnavailable):
        database.inline_reads.run(write)
    assert [row[0] for row in await database.read(_customers)] == ["c1", "c2"]


async def test_in_memory_databases_and_a_zero_budget_use_the_engine(
    hub_file: Path, open_db: list[Database]
) -> None:
    assert _db(open_db, hub_file, inline_read_budget_ms=0).inline_reads is None
    memory = Database("sqlite+aiosqlite:///:memory:")
    assert memory.inline_reads is None
    await memory.aclose()


# -- compiled lookups -----------------------------------------------------------------------------------


def _state(instance: object) -> dict[str, object]:
    """Every mapped column of ``instance``, and whether it is detached with an identity, as a closed
    session leaves what it loaded."""
    state = inspect(instance)
    columns = {attr.key: getattr(instance, attr.key) for attr in state.mapper.column_attrs}
    return {**columns, "detached": state.detached, "identity": state.identity}


def _lookup_state(
    result: tuple[dict[str, HubCustomer], dict[str, list[CustomerLink]]],
) -> tuple[dict[str, dict[str, object]], dict[str, list[dict[str, object]]]]:
    customers, links = result
    return (
        {key: _state(row) for key, row in customers.items()},
        {key: [_state(link) for link in rows] for key, rows in links.items()},
    )


async def test_the_compiled_customer_lookup_gives_what_the_orm_read_gives(
    hub_file: Path, open_db: list[Database]
) -> None:
    database = _db(open_db, hub_file)
    async with database.transaction() as session:
        session.add(HubCustomer(id="c3", display_name="Initech", country="DE"))
        session.add(
            CustomerLink(hub_customer_id="c1", source="support", external_id="41", rule="email", score=0.9)
        )
    inline = database.inline_reads
    assert inline is not None
    ids = ["c2", "c3", "unknown"]  # c2 was merged into c1, which comes along with its two links
    compiled = await _read_customers_with_links(database, ids)
    assert inline.reads == 2  # two compiled statements: the merge target is a second one
    orm = await database.read(partial(_customers_with_links, ids=ids))
    assert _lookup_state(compiled) == _lookup_state(orm)
    customers, links = compiled
    assert sorted(customers) == ["c1", "c2", "c3"]
    assert [link.external_id for link in links["c1"]] == ["7", "41"] and links["c3"] == []
    assert isinstance(customers["c1"].created_at, datetime) and links["c1"][0].manual is False


async def test_a_customer_lookup_under_an_access_scope_goes_through_the_orm(
    hub_file: Path, open_db: list[Database]
) -> None:
    database = _db(open_db, hub_file)
    with activate(NOTHING):  # the session hook applies the scope; the compiled statement could not
        assert await _read_customers_with_links(database, ["c1", "c2"]) == ({}, {})
    customers, _ = await _read_customers_with_links(database, ["c1", "c2"])
    assert sorted(customers) == ["c1", "c2"]


async def test_a_customer_lookup_on_a_locked_database_waits_off_the_loop(
    hub_file: Path, open_db: list[Database]
) -> None:
    database = _db(open_db, hub_file)
    assert database.inline_reads is not None
    update = "UPDATE hub_customers SET display_name = 'Renamed' WHERE id = 'c1'"
    locked = await read_while_locked(hub_file, update, lambda: _read_customers_with_links(database, ["c1"]))
    assert locked.result[0]["c1"].display_name == "Renamed"
    assert locked.waited >= 0.25 and locked.loop_ticks >= 10, locked
    # Handed over twice: the compiled statement, then the ORM read's own inline attempt.
    assert database.inline_reads.handed_over == 2


async def test_a_compiled_select_over_budget_is_interrupted(hub_file: Path, open_db: list[Database]) -> None:
    database = _db(open_db, hub_file, inline_read_budget_ms=5)
    assert database.inline_reads is not None
    heavy = (
        text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000000)"
            " SELECT count(*) AS total FROM n WHERE i NOT IN :skipped"
        )
        .bindparams(bindparam("skipped", expanding=True))
        .columns(column("total", Integer))
    )
    query = database.inline_reads.compiled(heavy, expanding="skipped")
    started = time.perf_counter()
    with pytest.raises(InlineReadUnavailable):
        database.inline_reads.select_rows(query, [1, 2])
    assert time.perf_counter() - started < 0.5  # seconds of work, interrupted after its budget
    assert database.inline_reads.handed_over == 1
    # The connection is usable afterwards, and a quick statement answers; it is compiled once.
    by_id = select(HubCustomer.id).where(HubCustomer.id.in_(bindparam("ids", expanding=True)))
    quick = database.inline_reads.compiled(by_id, expanding="ids")
    assert database.inline_reads.compiled(by_id, expanding="ids") is quick
    assert database.inline_reads.select_rows(quick, ["c2", "c1", "c9"]) == [("c1",), ("c2",)]


def test_a_compiled_select_takes_only_its_in_list(hub_file: Path) -> None:
    reads = InlineReads(make_url(f"sqlite:///{hub_file}"), budget_seconds=0.002)
    statement = select(HubCustomer.id).where(
        HubCustomer.id.in_(bindparam("ids", expanding=True)), HubCustomer.country == "DE"
    )
    with pytest.raises(ValueError, match="exactly one parameter"):
        reads.compiled(statement, expanding="ids")
    reads.dispose()
