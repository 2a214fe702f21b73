"""The generic SQL adapter against a small schema of awkward identifiers, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
import traceback
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import DateTime, Numeric, bindparam, column, literal_column, select, table
from sqlalchemy.dialects.sqlite import aiosqlite as sqlite_aiosqlite
from sqlalchemy.engine import make_url

from adapters.sdk import (
    AdapterConfigError,
    AdapterError,
    Entity,
    RecordValidationError,
    UnsupportedEntityError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from adapters.sdk.testing import AdapterConformance, ConformanceExpectations
from adapters.sql import SchemaMismatchError, SQLAdapter, SQLConfig
from adapters.sql.driver_reads import DriverRead

from .support.servers import fresh_pg_database
from .support.sql_erp import (
    BASE,
    COMPANIES,
    ENTITIES,
    ROWS,
    endless_query,
    load_postgres,
    load_sqlite,
    record_driver_reads,
    sql_adapters,
)


def _orders_of(company: int) -> list[str]:
    """Expected external ids of a company's orders, newest first (the mapping's order_by)."""
    return [str(company * 10 + n) for n in reversed(range(company % 4))]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sql") / "erp.db"
        load_sqlite(path)
        yield f"sqlite:///{path}"
        return
    async with fresh_pg_database("crmhub_sql") as url:
        await load_postgres(url)
        yield url


MakeAdapter = Callable[..., SQLAdapter]


@pytest.fixture
async def make_adapter(db_url: str) -> AsyncIterator[MakeAdapter]:
    async with sql_adapters(db_url) as make:
        yield make


@pytest.fixture
def adapter(make_adapter: MakeAdapter) -> SQLAdapter:
    return make_adapter()


# -- batch reads --------------------------------------------------------------------------------------


async def test_get_many_keeps_order_with_none_and_duplicates(adapter: SQLAdapter) -> None:
    before = adapter.queries_executed
    records = await adapter.get_many(Entity.CUSTOMER, ["7", "nope", "3", "7", "99999"])
    assert adapter.queries_executed == before + 1
    assert [r.external_id if r else None for r in records] == ["7", None, "3", "7", None]
    first = records[0]
    assert first is not None and first.source == "erp"
    assert first.model_dump()["name"] == "Company 007" and first.model_dump()["address"]["city"] == "City 0"
    assert first.updated_at == dt.datetime(2024, 1, 1, 15, tzinfo=dt.UTC)


async def test_postgresql_learns_column_types_once_per_entity(adapter: SQLAdapter, db_url: str) -> None:
    for _ in range(3):
        await adapter.get_many(Entity.ORDER, ["10", "not-a-number"])
        await adapter.find_related(Entity.ORDER, "customer_external_id", ["1"])
    await adapter.get_many(Entity.CUSTOMER, ["1"])
    assert adapter.queries_executed == 7  # the type probes execute nothing
    assert adapter.type_probes == (0 if db_url.startswith("sqlite") else 2)


async def test_get_many_composite_keys_and_money_from_floats(adapter: SQLAdapter) -> None:
    records = await adapter.get_many(Entity.ORDER_LINE, ["21:2", "21:1", "21", "21:9", "x:1", "21:1"])
    assert [r.external_id if r else None for r in records] == ["21:2", "21:1", None, None, None, "21:1"]
    line = records[0].model_dump()  # type: ignore[union-attr]
    # 19.99 stored as a double arrives as Decimal("19.99"), and 4 * 19.99 computed in SQL as 79.96
    assert line["unit_price"] == Decimal("19.99") and line["amount"] == Decimal("79.96")
    assert line["quantity"] == Decimal(4) and line["order_external_id"] == "21"


async def test_fixed_width_keys_match_their_stripped_ids(adapter: SQLAdapter) -> None:
    records = await adapter.get_many(Entity.PRODUCT, ["AB", "ABCDEF", "ab", "AB "])
    assert [r.external_id if r else None for r in records] == ["AB", "ABCDEF", None, "AB"]


async def test_find_related_answers_a_batch_of_50_with_one_query(adapter: SQLAdapter) -> None:
    values = [str(company) for company in range(1, 51)]
    before = adapter.queries_executed
    groups = await adapter.find_related(Entity.ORDER, "customer_external_id", values)
    assert adapter.queries_executed == before + 1
    assert [[order.external_id for order in group] for group in groups] == [
        _orders_of(company) for company in range(1, 51)
    ]
    order = groups[2][0].model_dump()
    assert order["total"] == Decimal("3.25") and order["currency"] == "EUR"
    assert order["ordered_at"] == dt.datetime(2024, 1, 3, 8, tzinfo=dt.UTC)


async def test_find_related_aligns_duplicates_and_unknown_values(adapter: SQLAdapter) -> None:
    groups = await adapter.find_related(Entity.ORDER, "customer_external_id", ["3", "nope", "4", "3", "1"])
    assert [[o.external_id for o in group] for group in groups] == [
        _orders_of(3),
        [],
        [],
        _orders_of(3),
        ["10"],
    ]


async def test_sqlite_batch_reads_take_one_call_to_the_driver(
    make_adapter: MakeAdapter, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip(reason="SQLite only: PostgreSQL reads go through SQLAlchemy's asyncpg dialect")
    adapter = make_adapter(sqlite_inline_budget_ms=0)  # the pool's path (inline reads: test_sql_inline_reads)
    statements = record_driver_reads(monkeypatch)
    for _ in range(2):  # compiled once, run again with other values
        customers = await adapter.get_many(Entity.CUSTOMER, ["3", "nope", "7"])
        orders = await adapter.find_related(Entity.ORDER, "customer_external_id", ["7", "3"])
        assert [c.external_id if c else None for c in customers] == ["3", None, "7"]
        assert [[o.external_id for o in group] for group in orders] == [_orders_of(7), _orders_of(3)]
    assert len(statements) == 4 and adapter.queries_executed == 4
    # Composite keys build their statement per call: SQLAlchemy runs those, with the same results.
    lines = await adapter.get_many(Entity.ORDER_LINE, ["21:1", "21:2"])
    assert [r.external_id if r else None for r in lines] == ["21:1", "21:2"] and len(statements) == 4


async def test_a_closed_pooled_sqlite_connection_is_replaced_on_the_next_read(
    make_adapter: MakeAdapter, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip(reason="SQLite only: the driver connection is closed behind the pool's back")
    adapter = make_adapter(pool_size=1)
    assert (await adapter.get_many(Entity.CUSTOMER, ["1"]))[0] is not None
    async with adapter._engine.connect() as conn:  # the pool's only connection
        await (await conn.get_raw_connection()).driver_connection.close()
    for _ in range(2):
        records = await adapter.get_many(Entity.CUSTOMER, ["1", "2"])
        assert [r.external_id if r else None for r in records] == ["1", "2"]
    groups = await adapter.find_related(Entity.ORDER, "customer_external_id", ["3"])
    assert [o.external_id for o in groups[0]] == _orders_of(3)


def test_driver_reads_leave_statements_that_need_type_processing_to_sqlalchemy() -> None:
    dialect = sqlite_aiosqlite.dialect()
    rows = table("t", column("id"), column("name"))
    untyped = select(rows.c.id.label("k"), rows.c.name.label("name")).where(
        rows.c.id.in_(bindparam("values", expanding=True))
    )
    read = DriverRead.compile(untyped, dialect)
    assert read is not None and read.labels == ("k", "name")
    expanded = read.compiled.construct_expanded_state({"values": [1, 2, 3]})
    assert expanded.positional_parameters == (1, 2, 3)
    typed_result = select(literal_column("amount", Numeric(10, 2)).label("amount")).select_from(rows)
    typed_bind = select(rows.c.id).where(rows.c.id == bindparam("since", type_=DateTime()))
    same_label = select(rows.c.id.label("x"), rows.c.name.label("x"))
    for statement in (typed_result, typed_bind, same_label):
        assert DriverRead.compile(statement, dialect) is None


async def test_a_broken_mapped_expression_is_a_typed_error_on_every_read(make_adapter: MakeAdapter) -> None:
    broken = {"customer_external_id": "company_id", "total": {"expr": "amount + * 1"}}
    adapter = make_adapter(entities={"order": {"table": "orders", "key": "id", "fields": broken}})
    for read in (
        adapter.get_many(Entity.ORDER, ["10"]),
        adapter.find_related(Entity.ORDER, "customer_external_id", ["1"]),
    ):
        with pytest.raises(SchemaMismatchError, match="rejected the SQL") as caught:
            await read
        assert "SELECT" not in caught.value.message.upper()


async def test_batches_larger_than_batch_size_are_split(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(batch_size=20)
    keys = [str(i) for i in range(1, 51)]

    before = adapter.queries_executed
    records = await adapter.get_many(Entity.CUSTOMER, keys)
    assert adapter.queries_executed == before + 3  # 20 + 20 + 10
    assert [r.external_id for r in records if r] == keys

    before = adapter.queries_executed
    groups = await adapter.find_related(Entity.ORDER, "customer_external_id", keys)
    assert adapter.queries_executed == before + 3
    assert [[o.external_id for o in g] for g in groups] == [_orders_of(int(k)) for k in keys]


async def test_scan_pages_through_every_row(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(page_size=7)
    before = adapter.queries_executed
    ids = [record.external_id async for record in adapter.scan(Entity.CUSTOMER)]
    assert sorted(ids, key=int) == [str(i) for i in range(1, COMPANIES + 1)]
    assert len(set(ids)) == COMPANIES
    assert adapter.queries_executed - before == COMPANIES // 7 + 1  # 17 full pages and a short one


async def test_scan_pages_on_a_composite_key(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(page_size=5)
    ids = [record.external_id async for record in adapter.scan(Entity.ORDER_LINE)]
    expected = [f"{row[0]}:{row[1]}" for row in ROWS["Order Lines"]]
    assert len(ids) == len(set(ids)) == len(expected) and set(ids) == set(expected)


async def test_scan_since_returns_only_rows_changed_after(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(page_size=8)
    since = BASE + dt.timedelta(hours=100)
    changed = [r.external_id async for r in adapter.scan(Entity.CUSTOMER, since=since.replace(tzinfo=dt.UTC))]
    assert changed == [str(i) for i in range(101, COMPANIES + 1)]
    # the same moment given in another zone selects the same rows
    paris = dt.timezone(dt.timedelta(hours=1))
    moment = (since + dt.timedelta(hours=1)).replace(tzinfo=paris)
    assert [r.external_id async for r in adapter.scan(Entity.CUSTOMER, since=moment)] == changed
    # no updated_at declared: since cannot filter, every row comes back
    assert len([r async for r in adapter.scan(Entity.ORDER, since=since)]) == len(ROWS["orders"])


async def test_query_entities_and_invalid_rows(make_adapter: MakeAdapter) -> None:
    entities = {
        "customer": {
            "query": 'SELECT "CompanyID" AS id, "Name" AS label FROM "Companies" WHERE "CompanyID" <= 10',
            "key": "id",
            "fields": {"name": "label", "industry": {"expr": "'ten' || ':' || src.label"}},
        },
        "product": {
            "query": 'SELECT "CompanyID" AS id, NULL AS blank FROM "Companies"',
            "key": "id",
            "fields": {"name": "blank"},
        },
    }
    adapter = make_adapter(entities=entities, page_size=4)
    names = [r.model_dump()["industry"] async for r in adapter.scan(Entity.CUSTOMER)]
    assert names == [f"ten:Company {i:03d}" for i in range(1, 11)]
    assert [r.external_id if r else None for r in await adapter.get_many(Entity.CUSTOMER, ["2", "11"])] == [
        "2",
        None,
    ]
    with pytest.raises(RecordValidationError, match=r"record '5' does not fit product: name"):
        await adapter.get_many(Entity.PRODUCT, ["5"])


async def test_unsupported_entities_and_relations(adapter: SQLAdapter) -> None:
    with pytest.raises(UnsupportedEntityError):
        await adapter.get_many(Entity.TICKET, ["1"])
    with pytest.raises(UnsupportedEntityError, match="cannot look up order by 'total'"):
        await adapter.find_related(Entity.ORDER, "total", ["1"])
    assert adapter.relations(Entity.ORDER) == frozenset({"customer_external_id"})


async def test_concurrent_requests_share_the_pool(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(pool_size=3)
    batches = [[str(k) for k in range(start, start + 10)] for start in range(1, 111, 10)]
    results = await asyncio.gather(*(adapter.get_many(Entity.CUSTOMER, keys) for keys in batches))
    assert [[r.external_id for r in result if r] for result in results] == batches


async def test_concurrent_requests_run_on_separate_connections(
    make_adapter: MakeAdapter, db_url: str
) -> None:
    # Each query runs until query_timeout_s stops it: on one shared connection three of them would take
    # three timeouts back to back, on the pool's three connections they end together (wall clock, not CPU).
    timeout = 0.6
    adapter = make_adapter(pool_size=3, query_timeout_s=timeout, entities=endless_query(db_url))
    await adapter.check()  # connect once outside the measurement
    started = time.perf_counter()
    outcomes = await asyncio.gather(
        *(adapter.get_many(Entity.PRODUCT, ["1"]) for _ in range(3)), return_exceptions=True
    )
    elapsed = time.perf_counter() - started
    assert all(isinstance(outcome, UpstreamTimeoutError) for outcome in outcomes), outcomes
    assert elapsed < 2 * timeout, f"three concurrent queries took {elapsed:.2f}s"


async def test_sqlite_file_is_switched_to_wal(make_adapter: MakeAdapter, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip(reason="SQLite only: PostgreSQL has no file-level journal mode")
    adapter = make_adapter()
    assert (await adapter.check()).ok
    path = make_url(db_url).database
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


# -- errors -------------------------------------------------------------------------------------------


async def test_missing_table_or_column_is_a_typed_error_without_sql(make_adapter: MakeAdapter) -> None:
    entities = {
        "customer": {"table": "Companiez", "key": "CompanyID", "fields": {"name": "Name"}},
        "product": {"table": "Companies", "key": "CompanyID", "fields": {"name": "Nmae"}},
    }
    adapter = make_adapter(entities=entities)
    for entity, missing in ((Entity.CUSTOMER, "Companiez"), (Entity.PRODUCT, "Nmae")):
        with pytest.raises(SchemaMismatchError) as caught:
            await adapter.get_many(entity, ["1"])
        text = "".join(traceback.format_exception(caught.value))
        assert f"erp:{entity.value}:" in str(caught.value) and "missing" in caught.value.message
        assert missing in caught.value.message
        assert "SELECT" not in text.upper().replace("SELECTED", "")
        assert caught.value.code == "SOURCE_MISCONFIGURED"


async def test_timeouts_become_upstream_timeout_errors(make_adapter: MakeAdapter, db_url: str) -> None:
    adapter = make_adapter(query_timeout_s=0.3, pool_size=1, entities=endless_query(db_url))
    started = time.perf_counter()
    with pytest.raises(UpstreamTimeoutError, match="erp:product: "):
        await adapter.get_many(Entity.PRODUCT, ["1"])
    assert time.perf_counter() - started < 3
    assert (await adapter.check()).ok  # the one pooled connection is usable again


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///does/not/exist/erp.db",
        pytest.param("postgresql://postgres:hunter2-secret@127.0.0.1:1/test", marks=pytest.mark.postgres),
    ],
)
async def test_dead_databases(url: str, tmp_path: Path) -> None:
    adapter = SQLAdapter.from_config(
        source="erp", config={"url": url, "connect_timeout_s": 2, "entities": ENTITIES}, base_dir=tmp_path
    )
    try:
        started = time.perf_counter()
        health = await adapter.check()
        assert not health.ok and health.detail and "unavailable" in health.detail
        assert time.perf_counter() - started < 2.5
        with pytest.raises(UpstreamUnavailableError) as caught:
            await adapter.get_many(Entity.CUSTOMER, ["1"])
        texts = [str(caught.value), repr(caught.value), "".join(traceback.format_exception(caught.value))]
        assert not any("hunter2" in text for text in [*texts, health.detail, repr(adapter.config)])
    finally:
        await adapter.aclose()


async def test_password_field_is_merged_and_never_shown(make_adapter: MakeAdapter, db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip(reason="SQLite has no password to leak")
    # trust authentication ignores the password, so the connection works and the query fails on the table
    adapter = make_adapter(
        password="hunter2-secret",
        entities={"customer": {"table": "nope", "key": "id", "fields": {"name": "n"}}},
    )
    assert adapter.config.engine_url.password == "hunter2-secret"
    with pytest.raises(AdapterError) as caught:
        await adapter.get_many(Entity.CUSTOMER, ["1"])
    shown = [str(caught.value), "".join(traceback.format_exception(caught.value)), repr(adapter.config)]
    assert not any("hunter2" in text for text in shown)
    assert "hunter2" not in adapter.config.display_url


# -- configuration ------------------------------------------------------------------------------------


def _config_error(config: dict[str, Any], base_dir: Path | None = None) -> str:
    with pytest.raises(AdapterConfigError) as caught:
        SQLAdapter.from_config(source="erp", config=config, base_dir=base_dir)
    return caught.value.message


def _with(entity: str, **changes: Any) -> dict[str, Any]:
    spec = {**ENTITIES[entity], **changes}
    return {"url": "sqlite:///erp.db", "entities": {entity: spec}}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            _with("order", fields={"customer_external_id": "company_id", "totl": "amount"}),
            "config.entities.order.fields.totl: unknown canonical field",
        ),
        (
            _with("customer", fields={"name": "Name", "address.town": "City"}),
            "config.entities.customer.fields.address.town: unknown canonical field",
        ),
        (
            {"url": "sqlite:///erp.db", "entities": {"custmer": ENTITIES["customer"]}},
            "config.entities.custmer: unknown entity (expected one of: customer, contact",
        ),
        (
            {"url": "sqlite:///erp.db", "entities": {"order": {"table": "orders", "fields": {}}}},
            "config.entities.order.key: Field required",
        ),
        (
            _with("customer", fields={"name": "Name", "external_id": "CompanyID"}),
            "config.entities.customer.fields.external_id: external_id comes from key",
        ),
        (
            _with("order", fields={"ordered_at": "placed_at"}),
            "required canonical field 'customer_external_id'",
        ),
        (
            _with("order", relations=["number"]),
            "config.entities.order.relations.0: 'number' is not a mapped field",
        ),
        (_with("order", order_by="ordered_at sideways"), "config.entities.order.order_by: term"),
        (_with("order", query="SELECT 1"), "config.entities.order: set exactly one of table"),
        (_with("order", fields={"customer_external_id": {"sql": "x"}}), "expected a column name or {expr:"),
        (
            {**_with("order"), "url": "mysql://erp:hunter2@db/erp"},
            "config.url: unsupported database URL scheme",
        ),
        (
            {**_with("order"), "url": "postgresql+psycopg2://db/erp"},
            "PostgreSQL driver 'psycopg2' is not supp",
        ),
        ({**_with("order"), "url": "::hunter2::"}, "config.url: not a valid database URL"),
        (
            {**_with("order"), "url": "postgresql://u:hunter2@db/e", "password": "x"},
            "config.password: the url",
        ),
        (
            {**_with("order"), "batch_size": 0},
            "config.batch_size: Input should be greater than or equal to 1",
        ),
        ({"url": "sqlite:///erp.db", "entities": {}}, "config.entities: map at least one canonical entity"),
        ({"url": "sqlite:///erp.db"}, "config.entities: Field required"),
    ],
)
def test_config_errors_name_the_place(config: dict[str, Any], message: str) -> None:
    error = _config_error(config)
    assert error.startswith(message) or message in error, error
    assert "hunter2" not in error


def test_mapping_file_is_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "erp.yaml").write_text(
        "entities:\n  customer:\n    table: Companies\n    key: CompanyID\n    fields: {name: Name, nmae: Name}\n"
    )
    error = _config_error({"url": "sqlite:///erp.db", "mapping": "maps/erp.yaml"}, base_dir=tmp_path)
    assert error == "config.entities.customer.fields.nmae: unknown canonical field (in erp.yaml)"
    assert "cannot read" in _config_error({"url": "sqlite:///erp.db", "mapping": "missing.yaml"}, tmp_path)

    (tmp_path / "maps" / "erp.yaml").write_text(
        "entities:\n  customer:\n    table: Companies\n    key: CompanyID\n    fields: {name: Name}\n"
    )
    adapter = SQLAdapter.from_config(
        source="erp", config={"url": "sqlite:///data/erp.db", "mapping": "maps/erp.yaml"}, base_dir=tmp_path
    )
    assert isinstance(adapter, SQLAdapter)
    assert adapter.config.engine_url.database == str(tmp_path / "data" / "erp.db")
    assert set(adapter.mappings) == {Entity.CUSTOMER}
    assert adapter.mappings[Entity.CUSTOMER].fields == {"external_id": "external_id", "name": "name"}


def test_config_round_trips_through_model_dump(tmp_path: Path) -> None:
    (tmp_path / "erp.yaml").write_text(yaml.safe_dump({"entities": ENTITIES}))
    raw = {"url": "sqlite:///erp.db", "mapping": "erp.yaml", "schema": "main", "password": "hunter2-secret"}
    config = SQLConfig.model_validate(raw, context={"base_dir": tmp_path})
    assert config.url == f"sqlite+aiosqlite:///{tmp_path / 'erp.db'}"  # absolute: no longer cwd-dependent
    assert SQLConfig.model_validate(config.model_dump()) == config
    assert config.entities[Entity.ORDER].order_by[0].descending


# -- the SDK's conformance kit ------------------------------------------------------------------------


@pytest.fixture
async def conformance_sql(make_adapter: MakeAdapter) -> SQLAdapter:
    return make_adapter(batch_size=10, page_size=16)


@pytest.fixture
async def refusing_sql(make_adapter: MakeAdapter) -> SQLAdapter:
    return make_adapter(url="postgresql://postgres@127.0.0.1:1/erp", password="hunter2-secret")


@pytest.fixture
async def silent_sql(make_adapter: MakeAdapter) -> AsyncIterator[SQLAdapter]:
    """An adapter pointed at a server that accepts connections and never says a word."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield make_adapter(url=f"postgresql://postgres@127.0.0.1:{port}/erp", connect_timeout_s=0.5)
    server.close()


@pytest.mark.usefixtures("db_url")  # the kit looks its fixtures up by name; this parametrizes the backend
class TestSQLAdapterConformance(
    AdapterConformance,
    fixture="conformance_sql",
    unreachable_fixture="refusing_sql",
    slow_fixture="silent_sql",
    expectations=ConformanceExpectations(
        total_records={Entity.CUSTOMER: COMPANIES, Entity.ORDER_LINE: len(ROWS["Order Lines"])},
        known_keys={Entity.CUSTOMER: ["1", "120"], Entity.ORDER_LINE: ["21:2"], Entity.PRODUCT: ["AB"]},
    ),
):
    pass
