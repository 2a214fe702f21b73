"""The shipped Northwind mappings against the real public Northwind database, on SQLite and PostgreSQL.

The database scripts are read from the shared data folder (never copied into the repository); the tests
skip, saying why, where that folder is absent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from adapters.sdk import Entity
from adapters.sdk.testing import AdapterConformance
from adapters.sql import SQLAdapter

from .support.servers import fresh_pg_database

EXAMPLES = Path(__file__).resolve().parents[1] / "adapters" / "sql" / "examples"
#: Customers per edition: the SQLite edition has two more than the PostgreSQL one.
CUSTOMERS = {"sqlite": 93, "postgresql": 91}
# Hand-computed from the scripts' rows for order 10643 (ALFKI, 1997-08-25, employee 6 Michael Suyama):
#   product 28: 45.60 x 15 x (1 - 0.25) = 513.00
#   product 39: 18.00 x 21 x (1 - 0.25) = 283.50
#   product 46: 12.00 x  2 x (1 - 0.25) =  18.00
#   lines 814.50 + freight 29.46 = 843.96
ORDER_10643_TOTAL = Decimal("843.96")
ALFKI_ORDERS_NEWEST_FIRST = ["11011", "10952", "10835", "10702", "10692", "10643"]


@pytest.fixture(scope="module")
def northwind_sqlite(northwind_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("northwind") / "northwind.db"
    conn = sqlite3.connect(path)
    try:
        # The script autocommits every INSERT; without syncing each one it loads in a fraction of a second.
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA journal_mode=MEMORY")
        conn.executescript((northwind_dir / "sqlite" / "create.sql").read_text(encoding="utf-8"))
        conn.commit()
    finally:
        conn.close()
    return path


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def northwind(
    request: pytest.FixtureRequest, northwind_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, SQLAdapter]]:
    """(edition, adapter built from the shipped example mapping with only the url replaced)."""
    edition: str = request.param
    if edition == "sqlite":
        path = request.getfixturevalue("northwind_sqlite")
        async with _adapter("northwind-sqlite.yaml", f"sqlite:///{path}") as adapter:
            yield edition, adapter
        return
    async with fresh_pg_database("crmhub_northwind") as url:
        await _load_postgres(
            url, (northwind_dir / "postgresql" / "northwind.sql").read_text(encoding="utf-8")
        )
        async with _adapter("northwind-postgres.yaml", url) as adapter:
            yield edition, adapter


async def _load_postgres(url: str, script: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        # Plain SQL only (SET, CREATE, INSERT, ALTER): the simple query protocol runs it in one call.
        await conn.execute(script)
    finally:
        await conn.close()


@asynccontextmanager
async def _adapter(example: str, url: str | None = None) -> AsyncIterator[SQLAdapter]:
    """The shipped example config, with only the url replaced when given."""
    config: dict[str, Any] = yaml.safe_load((EXAMPLES / example).read_text(encoding="utf-8"))
    if url is not None:
        config["url"] = url
    adapter = SQLAdapter.from_config(source="northwind", config=config, base_dir=EXAMPLES)
    assert isinstance(adapter, SQLAdapter)
    try:
        yield adapter
    finally:
        await adapter.aclose()


@pytest.mark.parametrize("example", ["northwind-sqlite.yaml", "northwind-postgres.yaml"])
async def test_the_examples_are_valid_configs_as_shipped(example: str) -> None:
    async with _adapter(example) as adapter:
        assert set(adapter.mappings) == {
            Entity.CUSTOMER,
            Entity.CONTACT,
            Entity.ORDER,
            Entity.ORDER_LINE,
            Entity.PRODUCT,
        }
        assert adapter.relations(Entity.ORDER) == {"customer_external_id"}
        assert adapter.relations(Entity.ORDER_LINE) == {"order_external_id", "product_external_id"}


async def test_every_customer_and_contact_scans_and_validates(northwind: tuple[str, SQLAdapter]) -> None:
    edition, adapter = northwind
    customers = [record async for record in adapter.scan(Entity.CUSTOMER)]
    assert len(customers) == len({c.external_id for c in customers}) == CUSTOMERS[edition]
    alfki = next(c for c in customers if c.external_id == "ALFKI").model_dump()
    assert alfki["name"] == "Alfreds Futterkiste"
    assert alfki["address"] == {
        "street": "Obere Str. 57",
        "city": "Berlin",
        "region": None,
        "postal_code": "12209",
        "country": "Germany",
    }
    contacts = [record async for record in adapter.scan(Entity.CONTACT)]
    assert len(contacts) == CUSTOMERS[edition]
    (alfki_contacts,) = await adapter.find_related(Entity.CONTACT, "customer_external_id", ["ALFKI"])
    assert [c.model_dump(include={"first_name", "last_name", "title"}) for c in alfki_contacts] == [
        {"first_name": "Maria", "last_name": "Anders", "title": "Sales Representative"}
    ]


async def test_alfki_orders_with_their_totals(northwind: tuple[str, SQLAdapter]) -> None:
    _, adapter = northwind
    before = adapter.queries_executed
    alfki, anatr, unknown = await adapter.find_related(
        Entity.ORDER, "customer_external_id", ["ALFKI", "ANATR", "NOPE!"]
    )
    assert adapter.queries_executed == before + 1
    assert [order.external_id for order in alfki] == ALFKI_ORDERS_NEWEST_FIRST
    assert len(anatr) == 4 and unknown == []
    order = alfki[-1].model_dump()
    assert order["total"] == ORDER_10643_TOTAL
    assert order["sales_rep"] == "Michael Suyama" and order["currency"] == "USD"
    assert order["ordered_at"].isoformat() == "1997-08-25T00:00:00+00:00"
    assert order["number"] == "10643" and order["status"] == "shipped"


async def test_order_lines_and_products_resolve(northwind: tuple[str, SQLAdapter]) -> None:
    _, adapter = northwind
    (lines,) = await adapter.find_related(Entity.ORDER_LINE, "order_external_id", ["10643"])
    assert [line.external_id for line in lines] == ["10643:28", "10643:39", "10643:46"]
    amounts = [line.model_dump()["amount"] for line in lines]
    assert amounts == [Decimal("513"), Decimal("283.5"), Decimal("18")]
    assert sum(amounts) + Decimal("29.46") == ORDER_10643_TOTAL

    by_key = await adapter.get_many(Entity.ORDER_LINE, ["10643:39", "10643:99", "10643:28"])
    assert [line.external_id if line else None for line in by_key] == ["10643:39", None, "10643:28"]
    first = by_key[0].model_dump()  # type: ignore[union-attr]
    assert first["unit_price"] == Decimal("18") and first["discount"] == Decimal("0.25")
    assert first["description"] == "Chartreuse verte"

    product_ids = [line.model_dump()["product_external_id"] for line in lines]
    products = await adapter.get_many(Entity.PRODUCT, product_ids)
    assert [p.model_dump(include={"name", "category", "unit_price"}) for p in products if p] == [
        {"name": "Rössle Sauerkraut", "category": "Produce", "unit_price": Decimal("45.6")},
        {"name": "Chartreuse verte", "category": "Beverages", "unit_price": Decimal("18")},
        {"name": "Spegesild", "category": "Seafood", "unit_price": Decimal("12")},
    ]
    every_product = [product async for product in adapter.scan(Entity.PRODUCT)]
    assert len(every_product) == 77


@pytest.fixture(scope="module")
async def northwind_sqlite_adapter(northwind_sqlite: Path) -> AsyncIterator[SQLAdapter]:
    async with _adapter("northwind-sqlite.yaml", f"sqlite:///{northwind_sqlite}") as adapter:
        yield adapter


class TestNorthwindConformance(AdapterConformance, fixture="northwind_sqlite_adapter"):
    """The shipped Northwind mapping passes the same conformance kit as every adapter."""
