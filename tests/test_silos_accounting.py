"""The accounting silo over real HTTP: OAuth2 tokens, realm, the query language, paging, errors, limits."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from silos.accounting.query import QueryError, parse_query
from silos.limits import RateLimit
from tests.support.silos import FakeClock, SiloEnv, running_silo


@pytest.fixture(scope="module")
async def acct() -> AsyncIterator[SiloEnv]:
    async with running_silo("accounting") as env:
        yield env


async def token_for(env: SiloEnv) -> str:
    creds = env.credentials
    response = await env.client.post(
        "/oauth2/v1/tokens/bearer",
        auth=(creds.client_id, creds.client_secret),
        data={"grant_type": "client_credentials"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="module")
async def token(acct: SiloEnv) -> str:
    return await token_for(acct)


async def query(env: SiloEnv, token: str, text: str, realm: str | None = None) -> httpx.Response:
    realm = realm or env.credentials.realm_id
    return await env.client.get(
        f"/v3/company/{realm}/query", params={"query": text}, headers={"Authorization": f"Bearer {token}"}
    )


async def rows(env: SiloEnv, token: str, text: str, entity: str) -> list[dict[str, Any]]:
    response = await query(env, token, text)
    assert response.status_code == 200, response.text
    return list(response.json()["QueryResponse"].get(entity, []))


def fault_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) >= {"Fault"}, body
    error = body["Fault"]["Error"][0]
    assert set(error) >= {"Message", "Detail", "code"}
    return {"type": body["Fault"]["type"], **error}


# -- auth ------------------------------------------------------------------------------------------


async def test_token_endpoint_rejects_bad_clients_and_grants(acct: SiloEnv) -> None:
    creds = acct.credentials
    url = "/oauth2/v1/tokens/bearer"
    bad = await acct.client.post(
        url, auth=(creds.client_id, "wrong"), data={"grant_type": "client_credentials"}
    )
    assert bad.status_code == 401 and bad.json() == {"error": "invalid_client"}
    missing = await acct.client.post(url, auth=(creds.client_id, creds.client_secret), data={})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    odd = await acct.client.post(
        url, auth=(creds.client_id, creds.client_secret), data={"grant_type": "password"}
    )
    assert odd.status_code == 400 and odd.json()["error"] == "unsupported_grant_type"
    # Client credentials in the form body work as well as HTTP Basic.
    form = {
        "grant_type": "client_credentials",
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
    }
    issued = await acct.client.post(url, data=form)
    assert issued.status_code == 200
    body = issued.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600 and body["access_token"]
    refreshed = await acct.client.post(
        url,
        auth=(creds.client_id, creds.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    )
    assert refreshed.status_code == 200 and refreshed.json()["access_token"] != body["access_token"]
    stale = await acct.client.post(
        url,
        auth=(creds.client_id, creds.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": "x"},
    )
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"


async def test_queries_need_a_valid_token_for_the_right_realm(acct: SiloEnv, token: str) -> None:
    path = f"/v3/company/{acct.credentials.realm_id}/query"
    none = await acct.client.get(path, params={"query": "select * from Customer"})
    assert none.status_code == 401 and fault_of(none)["type"] == "AUTHENTICATION"
    assert fault_of(none)["code"] == "3200"
    bad = await query(acct, "not-a-token", "select * from Customer")
    assert bad.status_code == 401 and "invalid" in fault_of(bad)["Detail"]
    other_realm = await query(acct, token, "select * from Customer", realm="123")
    assert other_realm.status_code == 403 and fault_of(other_realm)["code"] == "3100"
    assert (await query(acct, token, "select count(*) from Customer")).status_code == 200


async def test_tokens_expire() -> None:
    clock = FakeClock()
    async with running_silo("accounting", clock=clock, token_ttl_seconds=60.0) as env:
        token = await token_for(env)
        assert (await query(env, token, "select count(*) from Customer")).status_code == 200
        clock.now += 61
        expired = await query(env, token, "select count(*) from Customer")
        assert expired.status_code == 401 and "expired" in fault_of(expired)["Detail"]


# -- query language --------------------------------------------------------------------------------


async def test_startposition_paging_walks_every_customer_once(acct: SiloEnv, token: str) -> None:
    total = (await query(acct, token, "select count(*) from Customer")).json()["QueryResponse"]["totalCount"]
    assert total == len(acct.data.customers) > 20
    seen: list[str] = []
    start = 1
    while True:
        response = await query(acct, token, f"select * from Customer STARTPOSITION {start} MAXRESULTS 7")
        body = response.json()["QueryResponse"]
        page = body.get("Customer", [])
        if not page:
            assert body == {}  # the product sends an empty QueryResponse past the end
            break
        assert body["startPosition"] == start and body["maxResults"] == len(page) <= 7
        seen += [c["Id"] for c in page]
        start += len(page)
    assert len(seen) == len(set(seen)) == total
    assert sorted(seen, key=int) == seen


async def test_in_returns_exactly_what_was_asked(acct: SiloEnv, token: str) -> None:
    found = await rows(acct, token, "select * from Customer where Id in ('3', '1', '99999', '2')", "Customer")
    assert [c["Id"] for c in found] == ["1", "2", "3"]
    customer = acct.data.customers[1]
    invoices = await rows(
        acct,
        token,
        f"SELECT * FROM Invoice WHERE CustomerRef IN ('{customer.id}') MAXRESULTS 1000",
        "Invoice",
    )
    assert sorted(int(i["Id"]) for i in invoices) == sorted(customer.invoice_ids)
    assert all(
        i["CustomerRef"] == {"value": str(customer.id), "name": customer.display_name} for i in invoices
    )


async def test_filters_comparisons_like_and_orderby(acct: SiloEnv, token: str) -> None:
    data = acct.data
    open_invoices = await rows(
        acct, token, "select * from Invoice where Balance > '0' maxresults 1000", "Invoice"
    )
    assert {int(i["Id"]) for i in open_invoices} == {i.id for i in data.invoice_list if i.balance > 0}
    cutoff = "2024-06-01"
    recent = await rows(
        acct,
        token,
        f"select * from Invoice where TxnDate >= '{cutoff}' orderby TxnDate desc maxresults 1000",
        "Invoice",
    )
    dates = [i["TxnDate"] for i in recent]
    assert dates == sorted(dates, reverse=True) and all(d >= cutoff for d in dates)
    assert len(recent) == sum(1 for i in data.invoice_list if i.txn_date.isoformat() >= cutoff)
    name = data.customers[0].display_name
    fragment = name.split()[0].lower()
    liked = await rows(
        acct, token, f"select * from Customer where DisplayName like '%{fragment}%'", "Customer"
    )
    assert data.customers[0].id in {int(c["Id"]) for c in liked}
    assert all(fragment in c["DisplayName"].lower() for c in liked)
    exact = await rows(
        acct, token, f"select * from Customer where DisplayName = '{name.upper()}'", "Customer"
    )
    assert [c["Id"] for c in exact] == [str(data.customers[0].id)]


async def test_changed_since_uses_last_updated_time(acct: SiloEnv, token: str) -> None:
    data = acct.data
    middle = sorted(p.updated for p in data.payment_list)[len(data.payment_list) // 2]
    stamp = middle.isoformat()
    changed = await rows(
        acct,
        token,
        f"select * from Payment where MetaData.LastUpdatedTime > '{stamp}' maxresults 1000",
        "Payment",
    )
    assert {int(p["Id"]) for p in changed} == {p.id for p in data.payment_list if p.updated > middle}
    assert changed and [int(p["Id"]) for p in changed] == sorted(int(p["Id"]) for p in changed)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("select * from Customer where", "4000"),
        ("select * form Customer", "4000"),
        ("select * from Customer where Id = 'unterminated", "4000"),
        ("select * from Customer where Id = '1' or Id = '2'", "4000"),
        ("select * from Customer STARTPOSITION x", "4000"),
        ("select * from Widget", "4001"),
        ("select * from Customer where Shoe = '1'", "4001"),
        ("select * from Invoice where TxnDate > 'yesterday'", "4001"),
        ("select * from Invoice where TotalAmt like '%1%'", "4001"),
        ("select * from Customer MAXRESULTS 0", "4001"),
    ],
)
async def test_bad_queries_answer_a_validation_fault(acct: SiloEnv, token: str, text: str, code: str) -> None:
    response = await query(acct, token, text)
    assert response.status_code == 400
    fault = fault_of(response)
    assert fault["type"] == "ValidationFault" and fault["code"] == code and fault["Detail"]


async def test_query_may_be_posted_as_text_and_entities_read_by_id(acct: SiloEnv, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/text"}
    realm = acct.credentials.realm_id
    posted = await acct.client.post(
        f"/v3/company/{realm}/query", content="select count(*) from Payment", headers=headers
    )
    assert posted.json()["QueryResponse"]["totalCount"] == len(acct.data.payment_list)
    invoice = acct.data.invoice_list[0]
    one = await acct.client.get(f"/v3/company/{realm}/invoice/{invoice.id}", headers=headers)
    assert one.status_code == 200 and one.json()["Invoice"]["DocNumber"] == invoice.doc_number
    missing = await acct.client.get(f"/v3/company/{realm}/customer/999999", headers=headers)
    assert missing.status_code == 400 and fault_of(missing)["code"] == "610"


def test_parser_reads_the_documented_subset() -> None:
    parsed = parse_query(
        "SELECT * FROM Invoice WHERE CustomerRef IN ('1','2') AND Balance > '0' "
        "ORDERBY TxnDate DESC, Id STARTPOSITION 11 MAXRESULTS 5000"
    )
    assert parsed.entity == "Invoice" and not parsed.count
    assert [(c.field, c.op, c.values) for c in parsed.where] == [
        ("CustomerRef", "in", ("1", "2")),
        ("Balance", ">", ("0",)),
    ]
    assert parsed.order_by == (("TxnDate", True), ("Id", False))
    assert parsed.start_position == 11 and parsed.max_results == 1000  # capped like the product
    assert parse_query("select count(*) from customer").count
    assert parse_query(r"select * from Customer where DisplayName = 'O\'Neil'").where[0].values == ("O'Neil",)
    with pytest.raises(QueryError):
        parse_query("select * from Customer where Balance != '0'")


# -- business content ------------------------------------------------------------------------------


async def test_balances_are_open_invoice_balances_and_payments_add_up(acct: SiloEnv, token: str) -> None:
    customers = await rows(acct, token, "select * from Customer maxresults 1000", "Customer")
    invoices = await rows(acct, token, "select * from Invoice maxresults 1000", "Invoice")
    payments = await rows(acct, token, "select * from Payment maxresults 1000", "Payment")
    assert len(invoices) == len(acct.data.invoice_list) and len(payments) == len(acct.data.payment_list)
    open_by_customer: dict[str, Decimal] = {}
    for invoice in invoices:
        ref = invoice["CustomerRef"]["value"]
        open_by_customer[ref] = open_by_customer.get(ref, Decimal(0)) + Decimal(str(invoice["Balance"]))
    for customer in customers:
        assert Decimal(str(customer["Balance"])) == open_by_customer.get(customer["Id"], Decimal(0))
    paid_per_invoice: dict[str, Decimal] = {}
    invoice_customer = {i["Id"]: i["CustomerRef"]["value"] for i in invoices}
    for payment in payments:
        lines = payment["Line"]
        assert Decimal(str(payment["TotalAmt"])) == sum(Decimal(str(line["Amount"])) for line in lines)
        for line in lines:
            (link,) = line["LinkedTxn"]
            assert link["TxnType"] == "Invoice"
            assert invoice_customer[link["TxnId"]] == payment["CustomerRef"]["value"]
            paid_per_invoice[link["TxnId"]] = paid_per_invoice.get(link["TxnId"], Decimal(0)) + Decimal(
                str(line["Amount"])
            )
    reference = dt.date(2025, 1, 1)
    kinds = {"paid": 0, "partly paid": 0, "overdue": 0}
    for invoice in invoices:
        total, balance = Decimal(str(invoice["TotalAmt"])), Decimal(str(invoice["Balance"]))
        assert balance == total - paid_per_invoice.get(invoice["Id"], Decimal(0))
        kinds["paid"] += balance == 0
        kinds["partly paid"] += 0 < balance < total
        kinds["overdue"] += balance > 0 and dt.date.fromisoformat(invoice["DueDate"]) < reference
    assert all(count > 0 for count in kinds.values()), kinds
    assert any(len(p["Line"]) > 1 for p in payments), "some payments settle two invoices at once"


# -- limits ----------------------------------------------------------------------------------------


async def test_over_the_per_minute_limit_answers_429_with_retry_after() -> None:
    clock = FakeClock()
    async with running_silo("accounting", limits=RateLimit(per_minute=3), clock=clock) as env:
        token = await token_for(env)  # the token endpoint is not counted
        statuses = [(await query(env, token, "select count(*) from Customer")).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        clock.now += 20
        throttled = await query(env, token, "select count(*) from Customer")
        assert throttled.status_code == 429
        assert throttled.headers["Retry-After"] == "40"
        assert fault_of(throttled)["code"] == "3001"
        clock.now += 41
        assert (await query(env, token, "select count(*) from Customer")).status_code == 200


async def test_concurrent_queries_are_served(acct: SiloEnv, token: str) -> None:
    responses = await asyncio.gather(
        *(query(acct, token, f"select * from Customer where Id = '{i}'") for i in range(1, 21))
    )
    assert [r.json()["QueryResponse"]["Customer"][0]["Id"] for r in responses] == [
        str(i) for i in range(1, 21)
    ]
