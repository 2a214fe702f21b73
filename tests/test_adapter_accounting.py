"""The built-in accounting adapter against the accounting silo over real HTTP: the conformance kit, then
mapping, 429s, broken pages, token expiry, bad credentials, incremental scans and batching."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from adapters.accounting import AccountingAdapter
from adapters.sdk import (
    AdapterConfigError,
    AdapterRegistry,
    CustomerRecord,
    Entity,
    Invoice,
    MalformedResponseError,
    Payment,
    UpstreamAuthError,
    UpstreamRateLimitedError,
)
from adapters.sdk.testing import AdapterConformance, ConformanceExpectations
from tests.support.adapter_fixtures import closing, failing_adapter_fixtures
from tests.support.rest_silos import CallLog, accounting_adapter, first_429_only, served
from tests.support.silos import FakeClock, SiloEnv, credentials_for


@pytest.fixture(scope="module")
async def books() -> AsyncIterator[SiloEnv]:
    async with served("accounting") as env:
        yield env


@pytest.fixture(scope="module")
async def accounting(books: SiloEnv) -> AsyncIterator[AccountingAdapter]:
    async with closing(accounting_adapter(books.base_url, books.credentials)) as adapter:
        yield adapter


accounting_down, accounting_silent = failing_adapter_fixtures(
    "accounting", accounting_adapter, credentials_for("accounting")
)


@pytest.fixture
def books_expectations(books: SiloEnv) -> ConformanceExpectations:
    data = books.data
    return ConformanceExpectations(
        total_records={
            Entity.CUSTOMER: len(data.customers),
            Entity.INVOICE: len(data.records("Invoice")),
            Entity.PAYMENT: len(data.records("Payment")),
        },
        known_keys={Entity.CUSTOMER: [str(data.customers[-1].id)]},
    )


class TestAccountingConformance(
    AdapterConformance,
    fixture="accounting",
    unreachable_fixture="accounting_down",
    slow_fixture="accounting_silent",
    expectations_fixture="books_expectations",
):
    pass


def test_registered_under_its_entry_point() -> None:
    assert AdapterRegistry.discover().get("accounting") is AccountingAdapter


# -- mapping ----------------------------------------------------------------------------------------------


async def test_customers_invoices_and_payments_map_every_known_field(
    accounting: AccountingAdapter, books: SiloEnv
) -> None:
    data = books.data
    customer = next(c for c in data.customers if c.email and c.phone and c.city and c.website)
    (record,) = await accounting.get_many(Entity.CUSTOMER, [str(customer.id)])
    assert isinstance(record, CustomerRecord)
    assert (record.name, record.legal_name) == (customer.display_name, customer.company_name)
    assert (record.email, record.phone, record.website) == (customer.email, customer.phone, customer.website)
    assert record.address is not None
    assert (record.address.street, record.address.city, record.address.country) == (
        customer.line1,
        customer.city,
        customer.country,
    )
    assert record.updated_at == customer.updated and record.created_at == customer.created

    invoices = (await accounting.find_related(Entity.INVOICE, "customer_external_id", [str(customer.id)]))[0]
    assert sorted(int(i.external_id) for i in invoices) == sorted(customer.invoice_ids)
    for invoice in invoices:
        assert isinstance(invoice, Invoice)
        source = data.by_id("Invoice", int(invoice.external_id))
        assert (invoice.total, invoice.balance) == (source.total, source.balance)
        assert invoice.currency == source.currency and invoice.number == source.doc_number
        assert invoice.due_at is not None and invoice.due_at.date() == source.due_date

    payments = (await accounting.find_related(Entity.PAYMENT, "customer_external_id", [str(customer.id)]))[0]
    assert sorted(int(p.external_id) for p in payments) == sorted(customer.payment_ids)
    for payment in payments:
        assert isinstance(payment, Payment)
        source = data.by_id("Payment", int(payment.external_id))
        assert payment.amount == source.total
        assert payment.invoice_external_ids == tuple(str(invoice_id) for invoice_id, _ in source.applied)


async def test_quotes_in_keys_cannot_change_the_query(accounting: AccountingAdapter) -> None:
    assert await accounting.get_many(Entity.CUSTOMER, ["1') or Id > ('0", "1"]) == [
        None,
        (await accounting.get_many(Entity.CUSTOMER, ["1"]))[0],
    ]


async def test_a_scan_since_a_moment_asks_only_for_later_changes(
    accounting: AccountingAdapter, books: SiloEnv
) -> None:
    since = datetime(2024, 11, 1, tzinfo=UTC)
    log = CallLog()
    log.watch("accounting", accounting)
    found = [r.external_id async for r in accounting.scan(Entity.INVOICE, since)]
    expected = sorted(str(i.id) for i in books.data.records("Invoice") if i.updated > since)
    assert sorted(found) == expected and expected
    assert log.per_level() == {("accounting", "invoice"): 1}  # the filter ran upstream: one short page


# -- batching -----------------------------------------------------------------------------------------------


async def test_batches_cost_one_query_per_chunk_of_100(accounting: AccountingAdapter, books: SiloEnv) -> None:
    invoice_ids = [str(i.id) for i in books.data.records("Invoice")][:250]
    customer_ids = [str(c.id) for c in books.data.customers]
    log = CallLog()
    log.watch("accounting", accounting)

    found = await accounting.get_many(Entity.INVOICE, invoice_ids)
    assert [r.external_id if r else None for r in found] == invoice_ids
    assert log.per_level() == {("accounting", "invoice"): 3}

    log.clear()
    invoices = await accounting.find_related(Entity.INVOICE, "customer_external_id", customer_ids)
    payments = await accounting.find_related(Entity.PAYMENT, "customer_external_id", customer_ids)
    assert sum(map(len, invoices)) == len(books.data.records("Invoice"))
    assert sum(map(len, payments)) == len(books.data.records("Payment"))
    assert log.per_level() == {("accounting", "invoice"): 1, ("accounting", "payment"): 1}


# -- failures -----------------------------------------------------------------------------------------------


async def test_a_429_is_retried_after_retry_after() -> None:
    async with (
        served("accounting", wrap=first_429_only) as env,
        closing(accounting_adapter(env.base_url, env.credentials)) as adapter,
    ):
        assert (await adapter.check()).ok  # takes the token before the 429s start
        env.faults.update(forced_429=True, retry_after=1)
        before, started = adapter.upstream_calls, time.perf_counter()
        found = await adapter.get_many(Entity.CUSTOMER, ["1", "2"])
        elapsed = time.perf_counter() - started
    assert [r.external_id if r else None for r in found] == ["1", "2"]
    assert adapter.upstream_calls - before == 2, "one 429, then the retry"
    assert elapsed >= 0.9, f"retried after {elapsed:.2f}s, before the Retry-After of 1s"
    assert not env.faults.forced_429, "the silo did answer 429 once"


async def test_a_429_asking_for_more_than_the_budget_fails_fast(books: SiloEnv) -> None:
    adapter = accounting_adapter(books.base_url, books.credentials, max_retry_wait_seconds=1)
    try:
        assert (await adapter.check()).ok
        books.faults.update(forced_429=True, retry_after=30)
        started = time.perf_counter()
        with pytest.raises(UpstreamRateLimitedError) as caught:
            await adapter.get_many(Entity.INVOICE, ["1"])
        assert time.perf_counter() - started < 5
    finally:
        books.faults.reset()
        await adapter.aclose()
    assert caught.value.retry_after == 30 and caught.value.source == "accounting"


async def test_a_malformed_page_is_a_typed_error(books: SiloEnv) -> None:
    adapter = accounting_adapter(books.base_url, books.credentials)
    try:
        assert (await adapter.check()).ok
        books.faults.update(malformed=True)
        with pytest.raises(MalformedResponseError) as caught:
            _ = [record async for record in adapter.scan(Entity.INVOICE)]
        with pytest.raises(MalformedResponseError):
            await adapter.find_related(Entity.PAYMENT, "customer_external_id", ["1"])
    finally:
        books.faults.reset()
        await adapter.aclose()
    assert caught.value.source == "accounting" and "not JSON" in caught.value.message


async def test_an_expired_token_is_refreshed() -> None:
    clock = FakeClock()
    async with (
        served("accounting", clock=clock) as env,
        closing(accounting_adapter(env.base_url, env.credentials)) as adapter,
    ):
        assert (await adapter.get_many(Entity.CUSTOMER, ["1"]))[0] is not None
        assert adapter.oauth.token_requests == 1
        clock.now += env.credentials.token_ttl_seconds + 1  # the silo now refuses the token: 401
        assert (await adapter.get_many(Entity.CUSTOMER, ["2"]))[0] is not None
        assert adapter.oauth.token_requests == 2
        assert (await adapter.get_many(Entity.CUSTOMER, ["3"]))[0] is not None
        assert adapter.oauth.token_requests == 2, "the new token is reused"


@pytest.mark.parametrize(
    "override",
    [{"client_secret": "not-the-secret"}, {"client_id": "ABnobody"}, {"realm_id": "1234"}],
    ids=["secret", "client", "realm"],
)
async def test_bad_credentials_are_an_auth_error(books: SiloEnv, override: dict[str, str]) -> None:
    async with closing(accounting_adapter(books.base_url, books.credentials, **override)) as adapter:
        with pytest.raises(UpstreamAuthError) as caught:
            await adapter.get_many(Entity.CUSTOMER, ["1"])
        health = await adapter.check()
    assert caught.value.source == "accounting"
    assert books.credentials.client_secret not in str(caught.value)
    assert not health.ok and (health.detail or "").startswith("SOURCE_AUTH_FAILED")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"realm_id": "91/30"}, "config.realm_id: String should match pattern"),
        ({"token_url": "oauth.example/token"}, "config.token_url: Value error, must be an absolute http"),
        ({"client_secret": None}, "config.client_secret: Input should be a valid string"),
    ],
)
def test_bad_config_is_a_clear_error(override: dict[str, object], message: str) -> None:
    config = {
        "base_url": "https://books.example",
        "realm_id": "9130",
        "client_id": "AB1",
        "client_secret": "s",
    }
    with pytest.raises(AdapterConfigError) as caught:
        AccountingAdapter.from_config(source="accounting", config={**config, **override})
    assert caught.value.message.startswith(message)


def test_the_token_url_defaults_to_the_api_host() -> None:
    config = {
        "base_url": "https://books.example/",
        "realm_id": "9130",
        "client_id": "AB1",
        "client_secret": "s",
    }
    adapter = AccountingAdapter.from_config(source="accounting", config=config)
    assert isinstance(adapter, AccountingAdapter)
    assert adapter.oauth.token_url == "https://books.example/oauth2/v1/tokens/bearer"
