"""The built-in support adapter, and the same desk described in YAML (adapters/declarative/examples/
support.yaml), against the support silo over real HTTP: the conformance kit for both, then mapping,
requester e-mails, incremental scans, 429s, broken pages, bad credentials and batching."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.declarative import DeclarativeAdapter, ManifestError
from adapters.sdk import (
    AdapterRegistry,
    Contact,
    CustomerRecord,
    Entity,
    MalformedResponseError,
    Ticket,
    UpstreamAuthError,
)
from adapters.sdk.testing import AdapterConformance, ConformanceExpectations
from adapters.support import SupportAdapter
from tests.support.adapter_fixtures import closing, failing_adapter_fixtures
from tests.support.rest_silos import CallLog, first_429_only, served, support_adapter
from tests.support.silos import SiloEnv, credentials_for

MANIFEST = Path(__file__).resolve().parents[1] / "adapters" / "declarative" / "examples" / "support.yaml"


@pytest.fixture(scope="module")
async def desk() -> AsyncIterator[SiloEnv]:
    async with served("support") as env:
        yield env


@pytest.fixture(scope="module")
async def support(desk: SiloEnv) -> AsyncIterator[SupportAdapter]:
    async with closing(support_adapter(desk.base_url, desk.credentials)) as adapter:
        yield adapter


support_down, support_silent = failing_adapter_fixtures(
    "support", support_adapter, credentials_for("support")
)


@pytest.fixture
def desk_expectations(desk: SiloEnv) -> ConformanceExpectations:
    data = desk.data
    return ConformanceExpectations(
        total_records={
            Entity.CUSTOMER: len(data.organizations),
            Entity.CONTACT: sum(1 for u in data.users if u.role == "end-user"),
            Entity.TICKET: len(data.tickets),
        },
        known_keys={Entity.TICKET: [str(data.tickets[-1].id)]},
    )


class TestSupportConformance(
    AdapterConformance,
    fixture="support",
    unreachable_fixture="support_down",
    slow_fixture="support_silent",
    expectations_fixture="desk_expectations",
):
    pass


# -- the same desk in YAML ----------------------------------------------------------------------------------


def desk_manifest(base_url: str, credentials: Any, **http: Any) -> DeclarativeAdapter:
    config = {
        "manifest": str(MANIFEST),
        "base_url": base_url,
        "params": {"email": credentials.email},
        "secrets": {"api_token": credentials.api_token},
        "http": http,
    }
    adapter = DeclarativeAdapter.from_config(source="support_yaml", config=config)
    assert isinstance(adapter, DeclarativeAdapter)
    return adapter


@pytest.fixture(scope="module")
async def support_yaml(desk: SiloEnv) -> AsyncIterator[DeclarativeAdapter]:
    async with closing(desk_manifest(desk.base_url, desk.credentials)) as adapter:
        yield adapter


support_yaml_down, support_yaml_silent = failing_adapter_fixtures(
    "support_yaml", desk_manifest, credentials_for("support")
)


class TestSupportManifestConformance(
    AdapterConformance,
    fixture="support_yaml",
    unreachable_fixture="support_yaml_down",
    slow_fixture="support_yaml_silent",
    expectations_fixture="desk_expectations",
):
    pass


async def test_the_manifest_reads_what_the_built_in_adapter_reads(
    support: SupportAdapter, support_yaml: DeclarativeAdapter, desk: SiloEnv
) -> None:
    orgs = [str(o.id) for o in desk.data.organizations]
    for entity in (Entity.CONTACT, Entity.TICKET):
        python = await support.find_related(entity, "customer_external_id", orgs)
        yaml = await support_yaml.find_related(entity, "customer_external_id", orgs)
        assert [sorted(r.external_id for r in group) for group in python] == [
            sorted(r.external_id for r in group) for group in yaml
        ]
    (built_in,) = await support.get_many(Entity.CUSTOMER, orgs[:1])
    (declared,) = await support_yaml.get_many(Entity.CUSTOMER, orgs[:1])
    assert declared is not None and built_in == declared.model_copy(update={"source": "support"})


# -- mapping ------------------------------------------------------------------------------------------------


def test_registered_under_its_entry_point() -> None:
    assert AdapterRegistry.discover().get("support") is SupportAdapter


async def test_organizations_users_and_tickets_map_every_known_field(
    support: SupportAdapter, desk: SiloEnv
) -> None:
    data = desk.data
    org = next(o for o in data.organizations if o.domain_names and data.tickets_by_organization.get(o.id))
    (customer,) = await support.get_many(Entity.CUSTOMER, [str(org.id)])
    assert isinstance(customer, CustomerRecord)
    assert (customer.name, customer.website) == (org.name, org.domain_names[0])
    assert (customer.created_at, customer.updated_at) == (org.created, org.updated)

    (contacts,) = await support.find_related(Entity.CONTACT, "customer_external_id", [str(org.id)])
    users = {str(u.id): u for u in data.users_by_organization[org.id]}
    assert {c.external_id for c in contacts} == set(users)
    for contact in contacts:
        assert isinstance(contact, Contact)
        user = users[contact.external_id]
        assert f"{contact.first_name} {contact.last_name}" == user.name
        assert (contact.email, contact.phone) == (user.email, user.phone)

    (tickets,) = await support.find_related(Entity.TICKET, "customer_external_id", [str(org.id)])
    assert {t.external_id for t in tickets} == {str(t.id) for t in data.tickets_by_organization[org.id]}
    for ticket in tickets:
        assert isinstance(ticket, Ticket)
        source = data.ticket_by_id[int(ticket.external_id)]
        assert ticket.requester_email == data.user_by_id[source.requester_id].email
        assert (ticket.subject, ticket.status, ticket.priority) == (
            source.subject,
            source.status,
            source.priority,
        )


async def test_requester_emails_cost_one_lookup_per_page_of_unknown_requesters(desk: SiloEnv) -> None:
    adapter = support_adapter(desk.base_url, desk.credentials)
    log = CallLog()
    log.watch("support", adapter)
    orgs = [str(o.id) for o in desk.data.organizations]
    try:
        tickets = await adapter.find_related(Entity.TICKET, "customer_external_id", orgs)
        assert log.per_level() == {("support", "search:ticket"): 1, ("support", "users/show_many"): 1}
        requesters = {str(t.id): desk.data.user_by_id[t.requester_id].email for t in desk.data.tickets}
        emails = {
            t.external_id: t.requester_email for group in tickets for t in group if isinstance(t, Ticket)
        }
        assert emails == requesters
        assert any(requesters.values())
        log.clear()
        await adapter.find_related(Entity.TICKET, "customer_external_id", orgs)
        assert log.per_level() == {("support", "search:ticket"): 1}, "requesters seen recently are known"
    finally:
        await adapter.aclose()

    async with closing(support_adapter(desk.base_url, desk.credentials, requester_emails=False)) as without:
        busy = next(str(org) for org, tickets in desk.data.tickets_by_organization.items() if tickets)
        (tickets_only,) = await without.find_related(Entity.TICKET, "customer_external_id", [busy])
        assert without.upstream_calls == 1 and tickets_only
        assert all(isinstance(t, Ticket) and t.requester_email is None for t in tickets_only)


async def test_scans_since_a_moment_read_the_incremental_exports(
    support: SupportAdapter, desk: SiloEnv
) -> None:
    data = desk.data
    since = datetime(2024, 10, 1, tzinfo=UTC)
    log = CallLog()
    log.watch("support", support)
    for entity, records in (
        (Entity.CUSTOMER, data.organizations),
        (Entity.TICKET, data.tickets),
        (Entity.CONTACT, [u for u in data.users if u.role == "end-user"]),
    ):
        found = [r.external_id async for r in support.scan(entity, since)]
        assert sorted(found) == sorted(str(r.id) for r in records if r.updated > since)
    assert {level for _, level in log.calls} >= {
        "incremental/organizations",
        "incremental/tickets/cursor",
        "incremental/users/cursor",
    }
    # A moment less than a minute ago is refused by the export: the adapter starts earlier and filters.
    recent = [r async for r in support.scan(Entity.TICKET, datetime.now(UTC) - timedelta(seconds=5))]
    assert recent == []


# -- batching -----------------------------------------------------------------------------------------------


async def test_batches_cost_one_call_per_chunk_of_100(support: SupportAdapter, desk: SiloEnv) -> None:
    ticket_ids = [str(t.id) for t in desk.data.tickets]
    keys = [*ticket_ids, *(str(10**6 + n) for n in range(150 - len(ticket_ids)))]
    log = CallLog()
    log.watch("support", support)
    found = await support.get_many(Entity.TICKET, keys)
    assert [r.external_id for r in found if r] == ticket_ids
    assert log.per_level()[("support", "tickets/show_many")] == 2
    log.clear()
    orgs = [str(o.id) for o in desk.data.organizations]
    contacts = await support.find_related(Entity.CONTACT, "customer_external_id", orgs)
    assert sum(map(len, contacts)) == sum(1 for u in desk.data.users if u.role == "end-user")
    assert log.per_level() == {("support", "search:user"): 1}


# -- failures -----------------------------------------------------------------------------------------------


async def test_a_429_is_retried_after_retry_after() -> None:
    async with served("support", wrap=first_429_only) as env:
        env.faults.update(forced_429=True, retry_after=1)
        async with closing(support_adapter(env.base_url, env.credentials)) as adapter:
            started = time.perf_counter()
            found = await adapter.get_many(Entity.CUSTOMER, [str(env.data.organizations[0].id)])
            elapsed = time.perf_counter() - started
    assert isinstance(found[0], CustomerRecord) and found[0].name == env.data.organizations[0].name
    assert adapter.upstream_calls == 2 and elapsed >= 0.9
    assert not env.faults.forced_429


async def test_a_malformed_page_is_a_typed_error(support: SupportAdapter, desk: SiloEnv) -> None:
    desk.faults.update(malformed=True)
    try:
        with pytest.raises(MalformedResponseError) as caught:
            _ = [record async for record in support.scan(Entity.TICKET)]
        with pytest.raises(MalformedResponseError):
            await support.find_related(Entity.CONTACT, "customer_external_id", ["1"])
    finally:
        desk.faults.reset()
    assert caught.value.source == "support"


async def test_bad_credentials_are_an_auth_error(desk: SiloEnv) -> None:
    async with closing(
        support_adapter(desk.base_url, desk.credentials, api_token="not-the-token")
    ) as adapter:
        with pytest.raises(UpstreamAuthError) as caught:
            await adapter.find_related(Entity.TICKET, "customer_external_id", ["1"])
        health = await adapter.check()
    assert caught.value.source == "support" and "not-the-token" not in str(caught.value)
    assert not health.ok and (health.detail or "").startswith("SOURCE_AUTH_FAILED")


async def test_keys_the_desk_cannot_have_are_answered_without_asking(support: SupportAdapter) -> None:
    before = support.upstream_calls
    assert await support.get_many(Entity.TICKET, ["abc", "1 OR 2"]) == [None, None]
    assert await support.find_related(Entity.CONTACT, "customer_external_id", ["x", ""]) == [[], []]
    assert support.upstream_calls == before


def test_a_bad_value_pattern_in_the_manifest_points_at_its_line(tmp_path: Path) -> None:
    text = MANIFEST.read_text().replace('value_pattern: "[0-9]+"}', 'value_pattern: "[0-9+"}', 1)
    (tmp_path / "support.yaml").write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if '"[0-9+"' in row)
    config = {"manifest": "support.yaml", "params": {"email": "a@b.example"}, "secrets": {"api_token": "t"}}
    with pytest.raises(ManifestError, match="is not a regular expression") as caught:
        DeclarativeAdapter.from_config(source="desk", config=config, base_dir=tmp_path)
    assert caught.value.yaml_path == "endpoints.customer.get_many.value_pattern"
    assert caught.value.line == line
