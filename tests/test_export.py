"""``GET /export/customers.ndjson``: the BI bulk export, checked against the ERP data it reads."""

from __future__ import annotations

import asyncio
import math
import shutil
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import update
from starlette.applications import Starlette
from starlette.routing import Route

from hub.export import export_endpoint
from hub.hub import Hub
from hub.security.api_keys import create_api_key
from hub.store.models import HubCustomer
from silos.erp.database import write_database
from silos.erp.generator import ErpGenerator

from .conftest import ERP_TEST_SIZE
from .support.hub import api_client, erp_source, running_hub, write_config
from .support.servers import fresh_pg_database

EXPORT = "/export/customers.ndjson"


def _rows(body: bytes) -> list[dict[str, Any]]:
    assert body == b"" or body.endswith(b"\n"), "every NDJSON line ends with a newline"
    return [orjson.loads(line) for line in body.splitlines()]


@dataclass
class ErpTruth:
    companies: dict[str, tuple[str, str]]
    order_counts: Counter[str]
    totals: dict[str, dict[str, Decimal]]


def erp_truth(path: Path) -> ErpTruth:
    """What the ERP database says, read with the stdlib driver (money as the 15-digit values it stores)."""
    conn = sqlite3.connect(path)
    try:
        companies = {
            str(key): (name, country)
            for key, name, country in conn.execute("SELECT id, name, country FROM companies")
        }
        counts: Counter[str] = Counter()
        totals: dict[str, dict[str, Decimal]] = {}
        for company, currency, total in conn.execute("SELECT company_id, currency, total FROM orders"):
            counts[str(company)] += 1
            amount = Decimal(format(total, ".15g")) if isinstance(total, float) else Decimal(str(total))
            by_currency = totals.setdefault(str(company), {})
            by_currency[currency] = by_currency.get(currency, Decimal(0)) + amount
    finally:
        conn.close()
    return ErpTruth(companies, counts, totals)


def _upstream_calls(hub: Hub) -> int:
    return hub.sources.adapter("erp").upstream_calls


async def test_every_customer_with_its_order_totals(
    erp_hub: Hub, client: httpx.AsyncClient, erp_sqlite: Path
) -> None:
    truth = erp_truth(erp_sqlite)
    response = await client.get(EXPORT)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    rows = _rows(response.content)
    assert len(rows) == ERP_TEST_SIZE == len(truth.companies)
    ids = [row["id"] for row in rows]
    assert ids == sorted(set(ids)), "rows come once each, in hub id order"
    with_orders = 0
    for row in rows:
        assert set(row) == {"id", "name", "country", "updated_at", "sources", "order_count", "order_totals"}
        (link,) = row["sources"]
        assert link["source"] == "erp" and link["entity"] == "customer"
        company = link["external_id"]
        assert (row["name"], row["country"]) == truth.companies[company]
        assert row["order_count"] == truth.order_counts[company]
        totals = {currency: Decimal(text) for currency, text in row["order_totals"].items()}
        assert totals == truth.totals.get(company, {}), company
        assert all(text == format(Decimal(text).normalize(), "f") for text in row["order_totals"].values())
        assert datetime.fromisoformat(row["updated_at"]).tzinfo is not None
        with_orders += bool(row["order_count"])
    assert with_orders > ERP_TEST_SIZE // 2, "the sample really exercises the totals"


async def test_export_matches_the_customer_list(erp_hub: Hub, client: httpx.AsyncClient) -> None:
    """The export and the GraphQL list agree on who the customers are and what they are called."""
    from .support.hub import gql

    _, body = await gql(client, "{ customers(first: 100) { totalCount edges { node { id name } } } }")
    listed = {edge["node"]["id"]: edge["node"]["name"] for edge in body["data"]["customers"]["edges"]}
    assert body["data"]["customers"]["totalCount"] == ERP_TEST_SIZE
    exported = {row["id"]: row["name"] for row in _rows((await client.get(EXPORT)).content)}
    assert listed.items() <= exported.items()


async def test_fields_and_limit(erp_hub: Hub, client: httpx.AsyncClient) -> None:
    everything = _rows((await client.get(EXPORT)).content)
    response = await client.get(EXPORT, params={"fields": "orders", "limit": "5"})
    assert response.status_code == 200
    assert _rows(response.content) == [
        {key: row[key] for key in ("id", "order_count", "order_totals")} for row in everything[:5]
    ]
    before = _upstream_calls(erp_hub)
    response = await client.get(EXPORT, params={"fields": "id,name"})
    assert _rows(response.content) == [{"id": r["id"], "name": r["name"]} for r in everything]
    assert _upstream_calls(erp_hub) == before, "no orders asked for, no upstream query"
    only_ids = _rows((await client.get(EXPORT, params={"fields": "id", "limit": "3"})).content)
    assert only_ids == [{"id": row["id"]} for row in everything[:3]]


@pytest.mark.parametrize(
    ("query", "parameter", "message"),
    [
        ("limit=0", "limit", "`limit` must be a positive integer"),
        ("limit=-3", "limit", "`limit` must be a positive integer"),
        ("limit=ten", "limit", "`limit` must be a positive integer"),
        ("limit=1.5", "limit", "`limit` must be a positive integer"),
        ("since=yesterday", "since", "`since` must be an ISO 8601 date or date-time"),
        ("since=", "since", "`since` must be an ISO 8601 date or date-time"),
        ("since=2024-05-01T00:00:00+02:00", "since", "write a + in a URL as %2B"),
        ("fields=", "fields", "`fields` must list one or more of"),
        ("fields=name,salary", "fields", "unknown field(s) salary; choose from name, country"),
        ("page=2", "page", "unknown query parameter 'page'; this endpoint takes since, fields, limit"),
        ("limit=1&limit=2", "limit", "query parameter 'limit' is given more than once"),
    ],
)
async def test_bad_parameters_answer_400(
    erp_hub: Hub, client: httpx.AsyncClient, query: str, parameter: str, message: str
) -> None:
    response = await client.get(f"{EXPORT}?{query}")
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BAD_USER_INPUT"
    assert error["parameter"] == parameter
    assert message in error["message"]


async def test_export_needs_the_export_permission(erp_hub: Hub) -> None:
    async with api_client(erp_hub, key=None) as anonymous:
        assert (await anonymous.get(EXPORT)).status_code == 401
    issued = await create_api_key(
        erp_hub.db, erp_hub.settings.security, role="support_agent", actor="tests", name="no export"
    )
    async with api_client(erp_hub, key=issued.key) as agent:
        response = await agent.get(EXPORT)
    assert response.status_code == 403
    assert "customer:export" in response.text


# -- streaming, paging and one aggregate query per page ------------------------------------------------


@dataclass
class Streamed:
    status: int
    headers: dict[str, str]
    chunks: list[bytes]

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


async def asgi_get(
    app: Starlette, path: str, query: str = "", on_chunk: Callable[[int], Awaitable[None]] | None = None
) -> Streamed:
    """Drive the app as a server would, keeping each body message apart (httpx would join them)."""
    done = asyncio.Event()
    result = Streamed(0, {}, [])
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"hub.test")],
        "client": ("127.0.0.1", 50000),
        "server": ("hub.test", 80),
    }
    sent_request = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            result.status = message["status"]
            result.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            if message.get("body"):
                result.chunks.append(message["body"])
                if on_chunk is not None:
                    await on_chunk(len(result.chunks))
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    return result


def paged_app(hub: Hub, page_size: int) -> Starlette:
    return Starlette(routes=[Route(EXPORT, export_endpoint(lambda: hub, page_size=page_size))])


async def test_streams_one_chunk_per_bounded_page_with_one_query_each(erp_hub: Hub) -> None:
    app = paged_app(erp_hub, page_size=7)
    before = _upstream_calls(erp_hub)
    streamed = await asgi_get(app, EXPORT)
    assert streamed.status == 200
    pages = math.ceil(ERP_TEST_SIZE / 7)
    assert len(streamed.chunks) == pages
    assert all(1 <= chunk.count(b"\n") <= 7 for chunk in streamed.chunks)
    assert len(_rows(streamed.body)) == ERP_TEST_SIZE
    # one aggregate query per page (a page of 7 fits one statement), nothing per customer
    assert _upstream_calls(erp_hub) - before == pages

    before = _upstream_calls(erp_hub)
    limited = await asgi_get(app, EXPORT, "limit=10&fields=orders")
    assert [chunk.count(b"\n") for chunk in limited.chunks] == [7, 3]
    assert _upstream_calls(erp_hub) - before == 2


# -- a hub of our own: since, scoping, failures --------------------------------------------------------


@asynccontextmanager
async def private_hub(erp_sqlite: Path, directory: Path, **extra: Any) -> AsyncIterator[Hub]:
    """A hub over a private copy of the ERP database (``directory / "erp.sqlite"``), free to be changed."""
    erp = directory / "erp.sqlite"
    shutil.copy(erp_sqlite, erp)
    config = write_config(
        directory,
        database_url=f"sqlite+aiosqlite:///{directory / 'hub.sqlite'}",
        sources=[erp_source(f"sqlite+aiosqlite:///{erp}")],
        **extra,
    )
    async with running_hub(config) as hub:
        yield hub


@pytest.fixture
async def own_hub(erp_sqlite: Path, tmp_path: Path) -> AsyncIterator[Hub]:
    async with private_hub(erp_sqlite, tmp_path) as hub:
        yield hub


async def test_pages_shrink_to_what_the_order_source_takes_in_one_query(
    erp_sqlite: Path, tmp_path: Path
) -> None:
    async with private_hub(erp_sqlite, tmp_path) as hub:
        pass  # the seeded identity map, reused by a hub whose ERP source takes 40 values per statement
    config = write_config(
        tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}",
        sources=[erp_source(f"sqlite+aiosqlite:///{tmp_path / 'erp.sqlite'}", batch_size=40)],
    )
    async with running_hub(config, seed=False) as hub:
        app = Starlette(routes=[Route(EXPORT, export_endpoint(lambda: hub))])  # the default page size
        before = _upstream_calls(hub)
        streamed = await asgi_get(app, EXPORT)
        assert [chunk.count(b"\n") for chunk in streamed.chunks] == [40, 40, 40]
        assert _upstream_calls(hub) - before == 3
        names = await asgi_get(app, EXPORT, "fields=name")  # no orders asked for: no reason to shrink
        assert len(names.chunks) == 1 and names.body.count(b"\n") == ERP_TEST_SIZE


async def _touch(hub: Hub, ids: list[str], moment: datetime) -> None:
    async with hub.db.transaction() as session:
        await session.execute(update(HubCustomer).where(HubCustomer.id.in_(ids)).values(updated_at=moment))


async def _check_since(hub: Hub, client: httpx.AsyncClient) -> None:
    everyone = [row["id"] for row in _rows((await client.get(EXPORT, params={"fields": "id"})).content)]
    changed = everyone[3:6]
    await _touch(hub, changed, datetime(2031, 1, 1, tzinfo=UTC))

    async def since(value: str) -> list[str]:
        response = await client.get(EXPORT, params={"since": value, "fields": "updated_at"})
        assert response.status_code == 200, response.text
        rows = _rows(response.content)
        for row in rows:
            assert datetime.fromisoformat(row["updated_at"]) == datetime(2031, 1, 1, tzinfo=UTC)
        return [row["id"] for row in rows]

    assert await since("2030-06-01T00:00:00Z") == changed
    assert await since("2030-06-01") == changed  # a date: from its midnight, UTC
    assert await since("2031-01-01T00:00:00+00:00") == changed  # at or after
    assert await since("2031-01-01T01:30:00+02:00") == changed  # 2030-12-31T23:30Z
    assert await since("2031-01-01T00:30:00+00:00") == []
    assert await since("2031-01-01T00:00:00.000001Z") == []


async def test_since_on_sqlite(own_hub: Hub) -> None:
    async with api_client(own_hub) as client:
        await _check_since(own_hub, client)


@pytest.mark.postgres
async def test_export_with_hub_and_erp_on_postgres(tmp_path: Path) -> None:
    async with fresh_pg_database("crmhub_erp") as erp_url, fresh_pg_database("crmhub_hub") as hub_url:
        counts = await write_database(ErpGenerator(40, seed=3), erp_url)
        config = write_config(tmp_path, database_url=hub_url, sources=[erp_source(erp_url)])
        async with running_hub(config) as hub, api_client(hub) as client:
            rows = _rows((await client.get(EXPORT)).content)
            assert len(rows) == counts["companies"] == 40
            assert sum(row["order_count"] for row in rows) == counts["orders"]
            currencies = {currency for row in rows for currency in row["order_totals"]}
            assert currencies and all(len(code) == 3 for code in currencies)  # CHAR(3) comes back stripped

            before = _upstream_calls(hub)
            streamed = await asgi_get(paged_app(hub, page_size=6), EXPORT)
            assert len(streamed.chunks) == math.ceil(40 / 6)
            assert _upstream_calls(hub) - before == math.ceil(40 / 6)
            assert _rows(streamed.body) == rows
            await _check_since(hub, client)


async def test_territory_bound_keys_export_only_their_customers(erp_sqlite: Path, tmp_path: Path) -> None:
    from hub.crm.models import CustomerTerritory, Territory

    roles = {
        "admin": {"permissions": ["*"]},
        "regional_bi": {"permissions": ["customer:read", "customer:export"], "rows": "territory"},
    }
    async with private_hub(erp_sqlite, tmp_path, security={"roles": roles}) as hub:
        async with api_client(hub) as admin:
            everyone = [
                row["id"] for row in _rows((await admin.get(EXPORT, params={"fields": "id"})).content)
            ]
        north = everyone[10:15]
        async with hub.db.transaction() as session:
            session.add(Territory(id="ter_north", name="North", type="region"))
            await session.flush()
            session.add_all(
                [CustomerTerritory(hub_customer_id=cid, territory_id="ter_north") for cid in north]
            )
        issued = await create_api_key(
            hub.db, hub.settings.security, role="regional_bi", actor="tests", territories=["ter_north"]
        )
        async with api_client(hub, key=issued.key) as regional:
            response = await regional.get(EXPORT)
        assert response.status_code == 200, response.text
        rows = _rows(response.content)
        assert [row["id"] for row in rows] == north
        assert all(row["sources"] and "order_count" in row for row in rows)
        async with api_client(hub, key=issued.key) as regional:
            names_only = await regional.get(EXPORT, params={"fields": "name"})  # no links read: another query
        assert [row["id"] for row in _rows(names_only.content)] == north


async def test_source_failures(own_hub: Hub, tmp_path: Path) -> None:
    erp_path = tmp_path / "erp.sqlite"  # own_hub's private copy
    app = paged_app(own_hub, page_size=10)

    def drop_orders() -> None:
        with sqlite3.connect(erp_path) as conn:
            conn.execute("ALTER TABLE orders RENAME TO orders_gone")
        conn.close()

    async def fail_after_first(chunks: int) -> None:
        if chunks == 1:
            await asyncio.to_thread(drop_orders)

    # Rows are flowing when the source breaks: the stream ends with one error line.
    streamed = await asgi_get(app, EXPORT, on_chunk=fail_after_first)
    assert streamed.status == 200
    rows = _rows(streamed.body)
    *exported, last = rows
    assert set(last) == {"error"} and last["error"]["source"] == "erp" and last["error"]["code"]
    assert 10 <= len(exported) < ERP_TEST_SIZE
    assert all("order_count" in row for row in exported)

    # Broken before the first row: a status and a JSON error, no stream.
    before = await asgi_get(app, EXPORT)
    assert before.status in (502, 504)
    assert orjson.loads(before.body)["error"]["source"] == "erp"
