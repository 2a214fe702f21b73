"""The ERP silo: deterministic generation, referential integrity, realistic variety, and the SQLite and
PostgreSQL writers."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from silos.erp import MAPPING_PATH, TABLES_IN_ORDER, ErpGenerator, ensure_sqlite, write_database, write_sqlite
from silos.erp.__main__ import main as cli_main
from silos.erp.database import read_sqlite_meta
from silos.erp.generator import COMPANY_TABLES, REFERENCE_TABLES
from silos.erp.reference import COUNTRY_BY_CODE, REFERENCE_DATE

from .support.servers import fresh_pg_database

SIZE = 150
SEED = 11
REPO = Path(__file__).resolve().parents[1]


def _digest(generator: ErpGenerator) -> str:
    digest = hashlib.sha256()
    for table in TABLES_IN_ORDER:
        for row in generator.rows(table):
            digest.update(repr(sorted(row.items())).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def generator() -> ErpGenerator:
    return ErpGenerator(SIZE, seed=SEED)


@pytest.fixture(scope="module")
def erp_file(
    tmp_path_factory: pytest.TempPathFactory, generator: ErpGenerator
) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("erp") / "erp.sqlite"
    return path, write_sqlite(generator, path)


@pytest.fixture
def db(erp_file: tuple[Path, dict[str, int]]) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(erp_file[0])
    try:
        yield conn
    finally:
        conn.close()


def _one(conn: sqlite3.Connection, sql: str) -> Any:
    return conn.execute(sql).fetchone()[0]


# -- determinism -----------------------------------------------------------------------------------------


def test_same_parameters_give_identical_rows_and_another_seed_does_not() -> None:
    first, second = ErpGenerator(40, seed=3), ErpGenerator(40, seed=3)
    for table in TABLES_IN_ORDER:
        assert list(first.rows(table)) == list(second.rows(table)), table
    assert _digest(ErpGenerator(40, seed=4)) != _digest(first)


def test_output_does_not_depend_on_the_process() -> None:
    """Hash randomisation and import order must not leak into the data (another interpreter, other hash
    seed, same digest)."""
    script = "from silos.erp import ErpGenerator; from tests.test_erp_silo import _digest; print(_digest(ErpGenerator(25, seed=9)))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == _digest(ErpGenerator(25, seed=9))


def test_smaller_database_is_a_prefix_of_a_larger_one() -> None:
    small, large = ErpGenerator(50, seed=SEED), ErpGenerator(100, seed=SEED)
    for table in REFERENCE_TABLES:
        assert list(small.rows(table)) == list(large.rows(table)), table
    for index in range(50):
        assert small.company(index) == large.company(index)
        assert small.contacts_of(index) == large.contacts_of(index)
        assert small.credit_terms_of(index) == large.credit_terms_of(index)
        assert small.orders_of(index) == large.orders_of(index)
    large_orders = [row for row in large.rows("orders") if row["company_id"] <= 50]
    assert list(small.rows("orders")) == large_orders
    assert list(small.rows("companies")) == list(large.rows("companies"))[:50]


def test_per_company_accessors_agree_with_the_table_streams(generator: ErpGenerator) -> None:
    assert [generator.company(i) for i in range(SIZE)] == list(generator.rows("companies"))
    assert [c for i in range(SIZE) for c in generator.contacts_of(i)] == list(generator.rows("contacts"))
    orders = [bundle for i in range(SIZE) for bundle in generator.orders_of(i)]
    assert [order for order, _ in orders] == list(generator.rows("orders"))
    assert [line for _, lines in orders for line in lines] == list(generator.rows("order_lines"))
    terms = [generator.credit_terms_of(i) for i in range(SIZE)]
    assert [t for t in terms if t is not None] == list(generator.rows("credit_terms"))
    # Callers may mutate what they get without corrupting later answers.
    generator.company(0)["name"] = "changed"
    assert generator.company(0)["name"] != "changed"


# -- integrity -------------------------------------------------------------------------------------------


def test_every_foreign_key_resolves(db: sqlite3.Connection) -> None:
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert (
        _one(
            db,
            "SELECT COUNT(*) FROM orders o LEFT JOIN companies c ON c.id = o.company_id WHERE c.id IS NULL",
        )
        == 0
    )
    assert _one(db, "SELECT COUNT(*) FROM orders WHERE id NOT IN (SELECT order_id FROM order_lines)") == 0


def test_order_totals_are_the_sum_of_their_lines(generator: ErpGenerator, db: sqlite3.Connection) -> None:
    for index in range(SIZE):
        for order, lines in generator.orders_of(index):
            assert order["total"] == sum((line["amount"] for line in lines), Decimal(0))
            for line in lines:
                expected = line["quantity"] * line["unit_price"] * (1 - line["discount"])
                assert abs(line["amount"] - expected) <= Decimal("0.005")
            assert [line["line_no"] for line in lines] == list(range(1, len(lines) + 1))
    mismatched = _one(
        db,
        "SELECT COUNT(*) FROM orders o WHERE ABS(o.total - "
        "(SELECT SUM(l.amount) FROM order_lines l WHERE l.order_id = o.id)) > 0.004",
    )
    assert mismatched == 0


def test_every_child_territory_has_a_rep_and_customers_sit_in_child_territories(
    db: sqlite3.Connection,
) -> None:
    uncovered = db.execute(
        "SELECT t.code FROM territories t WHERE t.parent_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM employee_territories et WHERE et.territory_id = t.id)"
    ).fetchall()
    assert uncovered == []
    assert (
        _one(db, "SELECT COUNT(*) FROM employee_territories GROUP BY employee_id ORDER BY 1 DESC LIMIT 1")
        == 2
    )
    children = db.execute(
        "SELECT COUNT(*) FROM territories WHERE parent_id IS NOT NULL GROUP BY parent_id"
    ).fetchall()
    assert all(2 <= count <= 6 for (count,) in children)
    misplaced = _one(
        db,
        "SELECT COUNT(*) FROM companies c JOIN territories t ON t.id = c.territory_id "
        "WHERE t.parent_id IS NULL OR t.name <> c.region OR t.country <> c.country",
    )
    assert misplaced == 0
    foreign_rep = _one(
        db,
        "SELECT COUNT(*) FROM companies c WHERE NOT EXISTS (SELECT 1 FROM employee_territories et "
        "WHERE et.employee_id = c.sales_rep_id AND et.territory_id = c.territory_id)",
    )
    assert foreign_rep == 0


def test_contacts_orders_and_terms_are_consistent_with_their_company(db: sqlite3.Connection) -> None:
    assert _one(db, "SELECT COUNT(*) FROM contacts GROUP BY company_id ORDER BY 1 DESC LIMIT 1") <= 4
    assert _one(db, "SELECT COUNT(*) FROM companies WHERE id NOT IN (SELECT company_id FROM contacts)") == 0
    assert (
        _one(db, "SELECT COUNT(*) FROM contacts WHERE is_primary GROUP BY company_id ORDER BY 1 DESC LIMIT 1")
        == 1
    )
    oldest = (REFERENCE_DATE - dt.timedelta(days=3 * 365)).isoformat(" ")
    assert _one(db, "SELECT MIN(ordered_at) FROM orders") >= oldest
    assert _one(db, "SELECT MAX(ordered_at) FROM orders") <= REFERENCE_DATE.isoformat(" ")
    early = "SELECT COUNT(*) FROM orders o JOIN companies c ON c.id = o.company_id WHERE o.ordered_at < c.created_at"
    assert _one(db, early) == 0
    assert _one(db, "SELECT COUNT(*) FROM orders WHERE updated_at < ordered_at") == 0
    wrong_currency = db.execute(
        "SELECT DISTINCT c.country, o.currency FROM orders o JOIN companies c ON c.id = o.company_id"
    ).fetchall()
    assert all(COUNTRY_BY_CODE[country].currency == currency for country, currency in wrong_currency)
    terms = _one(db, "SELECT COUNT(*) FROM credit_terms")
    assert 0.75 * SIZE <= terms < SIZE  # most companies have terms, some have none
    assert {d for (d,) in db.execute("SELECT DISTINCT payment_terms_days FROM credit_terms")} <= {
        14,
        30,
        45,
        60,
    }


# -- variety ---------------------------------------------------------------------------------------------


def test_companies_look_like_a_multinational_customer_base(generator: ErpGenerator) -> None:
    companies = list(generator.rows("companies"))
    countries = Counter(c["country"] for c in companies)
    assert len(countries) >= 8
    suffixed = [
        c for c in companies if c["legal_form"] and c["name"].lower().endswith(c["legal_form"].lower())
    ]
    assert len(suffixed) >= 0.7 * len(companies)
    assert len({c["legal_form"] for c in suffixed}) >= 10
    assert any(c["legal_form"] and not c["name"].lower().endswith(c["legal_form"].lower()) for c in companies)
    for column in ("website", "industry", "annual_revenue", "tax_id"):
        assert any(c[column] is None for c in companies), f"no company lacks {column}"
    german = [c for c in companies if c["country"] == "DE" and c["tax_id"]]
    assert sum(bool(re.fullmatch(r"DE\d{9}", c["tax_id"])) for c in german) >= 0.7 * len(german)
    for company in companies:
        if company["country"] == "PL" and company["tax_id"]:
            nip = company["tax_id"].removeprefix("PL").replace("-", "")
            weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
            assert sum(int(d) * w for d, w in zip(nip, weights, strict=False)) % 11 == int(nip[9])
    # Customers of a country spread over its child territories.
    german_regions = {c["region"] for c in companies if c["country"] == "DE"}
    assert len(german_regions) >= 3
    # Phone numbers are written in more than one notation per country.
    shapes = {re.sub(r"\d", "9", c["phone"]) for c in companies if c["country"] == "DE" and c["phone"]}
    assert len(shapes) >= 3


def test_contacts_have_local_names_and_some_lack_email_or_phone(generator: ErpGenerator) -> None:
    contacts = list(generator.rows("contacts"))
    assert any(c["email"] is None for c in contacts)
    assert any(c["phone"] is None for c in contacts)
    assert sum(c["email"] is not None for c in contacts) >= 0.6 * len(contacts)
    polish = [
        c for i in range(SIZE) if generator.company(i)["country"] == "PL" for c in generator.contacts_of(i)
    ]
    assert any(re.search(r"[ąćęłńóśźż]", f"{c['first_name']} {c['last_name']}", re.I) for c in polish)
    assert all(c["email"] is None or c["email"].isascii() for c in contacts)


def test_orders_have_every_status_and_some_freight_lines(generator: ErpGenerator) -> None:
    orders = list(generator.rows("orders"))
    assert {o["status"] for o in orders} == {"open", "shipped", "invoiced", "cancelled"}
    assert 6 * SIZE <= len(orders) <= 10 * SIZE
    lines = list(generator.rows("order_lines"))
    products = {row["id"]: row for row in generator.rows("products")}
    assert all(line["product_id"] in products for line in lines)
    freight = [line for line in lines if products[line["product_id"]]["sku"] == "SRV-FREIGHT"]
    assert freight and all(line["line_no"] > 1 for line in freight)
    assert len({line["unit_price"] for line in freight}) > 1  # priced per order, not from the list
    assert len({line["product_id"] for line in lines}) > 60
    assert 60 <= len(list(generator.rows("products"))) <= 200


# -- SQLite writer ---------------------------------------------------------------------------------------


def test_sqlite_writer_reports_the_rows_it_wrote(
    erp_file: tuple[Path, dict[str, int]], db: sqlite3.Connection, generator: ErpGenerator
) -> None:
    _, counts = erp_file
    assert list(counts) == list(TABLES_IN_ORDER)
    for table, count in counts.items():
        assert _one(db, f'SELECT COUNT(*) FROM "{table}"') == count, table
    assert counts["companies"] == SIZE
    meta = read_sqlite_meta(erp_file[0])
    assert meta is not None and all(meta[key] == value for key, value in generator.params().items())
    indexed = {
        row[0] for row in db.execute("SELECT tbl_name || '.' || name FROM sqlite_master WHERE type='index'")
    }
    for index in (
        "orders.ix_orders_company_id",
        "contacts.ix_contacts_company_id",
        "companies.ix_companies_updated_at",
    ):
        assert index in indexed


def test_ensure_sqlite_rebuilds_only_when_the_parameters_differ(tmp_path: Path) -> None:
    path = tmp_path / "erp.sqlite"
    write_sqlite(ErpGenerator(12, seed=1), path)
    assert ensure_sqlite(path, size=20, seed=2) == path
    meta = read_sqlite_meta(path)
    assert meta is not None and (meta["size"], meta["seed"]) == ("20", "2")
    before = path.stat()
    ensure_sqlite(path, size=20, seed=2)
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    path.write_bytes(b"not a database at all")
    # A reader in WAL mode may have left its files behind; they belong to the old database.
    Path(f"{path}-wal").write_bytes(b"stale write-ahead log")
    Path(f"{path}-shm").write_bytes(b"stale shared memory")
    ensure_sqlite(path, size=20, seed=2)
    assert read_sqlite_meta(path) == meta
    assert sorted(p.name for p in tmp_path.iterdir()) == ["erp.sqlite"]


class _Interrupted(RuntimeError):
    pass


class _FailingGenerator(ErpGenerator):
    """Stops after the first chunk, like a run killed half way."""

    def chunks(
        self, companies_per_chunk: int = 2000, **kwargs: Any
    ) -> Iterator[dict[str, list[dict[str, Any]]]]:
        iterator = super().chunks(companies_per_chunk, **kwargs)
        yield next(iterator)
        raise _Interrupted("stopped half way")


def test_an_interrupted_write_leaves_the_previous_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "erp.sqlite"
    write_sqlite(ErpGenerator(10, seed=1), path)
    original = path.read_bytes()
    with pytest.raises(_Interrupted):
        write_sqlite(_FailingGenerator(30, seed=1), path, companies_per_chunk=5)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["erp.sqlite"]
    with pytest.raises(_Interrupted):
        write_sqlite(_FailingGenerator(30, seed=1), tmp_path / "new.sqlite", companies_per_chunk=5)
    assert not (tmp_path / "new.sqlite").exists()


# -- PostgreSQL writer -----------------------------------------------------------------------------------


@pytest.mark.postgres
async def test_postgres_writer_loads_everything_with_constraints() -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    generator = ErpGenerator(30, seed=5)
    async with fresh_pg_database("crmhub_erp") as url:
        counts = await write_database(generator, url)
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)
        try:
            for table, count in counts.items():
                assert await conn.fetchval(f'SELECT COUNT(*) FROM "{table}"') == count, table
            assert counts["companies"] == 30
            assert counts["order_lines"] == sum(1 for _ in generator.rows("order_lines"))
            # Numeric is exact on PostgreSQL: totals equal the sum of their lines to the cent.
            assert (
                await conn.fetchval(
                    "SELECT COUNT(*) FROM orders o WHERE o.total <> "
                    "(SELECT SUM(amount) FROM order_lines l WHERE l.order_id = o.id)"
                )
                == 0
            )
            first = await conn.fetchrow("SELECT * FROM companies WHERE id = 1")
            assert dict(first) == generator.company(0)
            foreign_keys = await conn.fetchval("SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f'")
            assert foreign_keys == 13
            indexes = {r["indexname"] for r in await conn.fetch("SELECT indexname FROM pg_indexes")}
            assert {
                "ix_orders_company_id",
                "ix_order_lines_order_id_line_no",
                "ix_contacts_company_id",
            } <= indexes
            assert await conn.fetchval("SELECT value FROM erp_meta WHERE key = 'seed'") == "5"
        finally:
            await conn.close()
        # Writing again replaces the ERP tables.
        again = await write_database(ErpGenerator(8, seed=5), url)
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT COUNT(*) FROM companies") == again["companies"] == 8
        finally:
            await conn.close()


# -- mapping, bad input, command line --------------------------------------------------------------------


async def test_every_mapped_entity_loads_through_the_sql_adapter(
    erp_file: tuple[Path, dict[str, int]], generator: ErpGenerator
) -> None:
    sql = pytest.importorskip("adapters.sql")
    from adapters.sdk import Entity

    path, counts = erp_file
    adapter = sql.SQLAdapter.from_config(
        source="erp", config={"url": f"sqlite:///{path}", "mapping": str(MAPPING_PATH)}
    )
    try:
        expected = {
            Entity.CUSTOMER: "companies",
            Entity.CONTACT: "contacts",
            Entity.PRODUCT: "products",
            Entity.ORDER: "orders",
            Entity.ORDER_LINE: "order_lines",
            Entity.CREDIT_TERMS: "credit_terms",
        }
        assert set(adapter.mappings) == set(expected)
        for entity, table in expected.items():
            assert len([record async for record in adapter.scan(entity)]) == counts[table], entity
        [customer] = await adapter.get_many(Entity.CUSTOMER, ["1"])
        company = generator.company(0)
        assert customer is not None and customer.name == company["name"]
        assert customer.address is not None and customer.address.region == company["region"]
        assert customer.territory_code is not None and customer.territory_code.startswith(company["country"])
        [orders] = await adapter.find_related(Entity.ORDER, "customer_external_id", ["1"])
        newest_first = [order for order, _ in reversed(generator.orders_of(0))]
        assert [o.external_id for o in orders] == [str(order["id"]) for order in newest_first]
        assert all(o.sales_rep and " " in o.sales_rep for o in orders)
    finally:
        await adapter.aclose()


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((-1,), {}),
        (("10",), {}),
        ((True,), {}),
        ((10,), {"seed": "x"}),
        ((10,), {"orders_per_customer": 500}),
        ((10,), {"products": 5}),
    ],
)
def test_bad_generator_parameters_are_refused_clearly(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        ErpGenerator(*args, **kwargs)


def test_bad_lookups_are_refused_clearly(generator: ErpGenerator, tmp_path: Path) -> None:
    with pytest.raises(IndexError, match=r"\[0, 150\)"):
        generator.company(SIZE)
    with pytest.raises(IndexError):
        generator.orders_of(-1)
    with pytest.raises(ValueError, match="unknown ERP table"):
        generator.rows("customers")
    with pytest.raises(IsADirectoryError):
        write_sqlite(generator, tmp_path)


def test_command_line_writes_a_sqlite_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.sqlite"
    assert cli_main(["--size", "6", "--seed", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"^companies\s+6$", printed, re.M) and "wrote" in printed
    assert read_sqlite_meta(out) is not None
    with pytest.raises(SystemExit):
        cli_main(["--size", "-3", "--out", str(out)])
    assert "size must be" in capsys.readouterr().err
    assert cli_main(["--size", "3", "--url", "not a url"]) == 1
    assert "not a database URL" in capsys.readouterr().err


def test_company_tables_follow_reference_tables() -> None:
    assert (*REFERENCE_TABLES, *COMPANY_TABLES) == TABLES_IN_ORDER
    assert (
        TABLES_IN_ORDER.index("companies")
        < TABLES_IN_ORDER.index("orders")
        < TABLES_IN_ORDER.index("order_lines")
    )
