"""Who sees what: every principal (admin, sales manager, a rep of territory A by API key and by JWT, a rep
of territory B, support agent, finance, BI reader, and no key / a revoked key / an expired JWT) against
every way of reaching data (customer by id, the customer list with its count and search, nested orders and
financial fields, the timeline, leads, opportunities, competitor notes, activities, the export, and
mutations aimed at records out of scope). No out-of-scope record and no forbidden field may come back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from hub.store.models import HubCustomer

from .support.hub import api_client, gql
from .support.security import INVOICE_MARK, PRINCIPALS, REFUSED, Spec, World, leaks, security_world

FINANCE_FIELDS = ("invoices", "payments", "balance", "creditTerms", "lifetimeValue")


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory, erp_sqlite: Path) -> AsyncIterator[World]:
    async with security_world(tmp_path_factory.mktemp("security-matrix"), erp_sqlite) as built:
        yield built


@pytest.fixture(scope="module")
async def clients(world: World) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    async with AsyncExitStack() as stack:
        yield {
            name: await stack.enter_async_context(api_client(world.hub, key=token))
            for name, token in world.tokens.items()
        }


async def ask(
    world: World, clients: dict[str, httpx.AsyncClient], who: str, query: str, **variables: Any
) -> dict[str, Any]:
    status, body = await gql(clients[who], query, variables)
    assert status == 200, body
    spec = PRINCIPALS[who]
    found = leaks(world, spec.scope, finance=spec.finance, text=json.dumps(body))
    assert not found, f"{who} received {found}: {body}"
    return body


def _forbidden(body: dict[str, Any], path: list[str]) -> bool:
    return any(e["extensions"]["code"] == "FORBIDDEN" and e["path"] == path for e in body.get("errors", []))


def _visible_ids(world: World, spec: Spec, table: dict[str, str]) -> set[str]:
    return {record_id for label, record_id in table.items() if world.visible(label, spec.scope)}


each_principal = pytest.mark.parametrize("who", list(PRINCIPALS))


# -- customers ---------------------------------------------------------------------------------------


@each_principal
async def test_customer_by_id(world: World, clients: dict[str, httpx.AsyncClient], who: str) -> None:
    spec = PRINCIPALS[who]
    for label, customer_id in world.customers.items():
        body = await ask(
            world, clients, who, "query($id: ID!) { customer(id: $id) { id name } }", id=customer_id
        )
        assert "errors" not in body, body
        found = body["data"]["customer"]
        assert (found is not None) == world.visible(label, spec.scope), (who, label)
        if found:
            assert found["id"] == customer_id


@each_principal
async def test_customer_list_total_and_search(
    world: World, clients: dict[str, httpx.AsyncClient], who: str
) -> None:
    spec = PRINCIPALS[who]
    query = """query($after: String, $search: String) { customers(first: 100, after: $after, search: $search) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = (await ask(world, clients, who, query, after=after))["data"]["customers"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"]
    if spec.scope is None:
        async with world.hub.db.session() as session:
            everyone = await session.scalar(
                select(func.count()).select_from(HubCustomer).where(HubCustomer.merged_into.is_(None))
            )
        assert len(seen) == everyone
    else:
        assert set(seen) == _visible_ids(world, spec, world.customers)
    for label in ("c_a", "c_b"):
        term = world.names[label]
        found = (await ask(world, clients, who, query, search=term))["data"]["customers"]
        ids = {edge["node"]["id"] for edge in found["edges"]}
        assert (world.customers[label] in ids) == world.visible(label, spec.scope)
        assert found["totalCount"] == len(ids)


@each_principal
async def test_nested_orders_and_financial_fields(
    world: World, clients: dict[str, httpx.AsyncClient], who: str
) -> None:
    spec = PRINCIPALS[who]
    own = "c_b" if spec.scope == frozenset({"B"}) else "c_a"
    query = """query($id: ID!) { customer(id: $id) { id
        orders(first: 3) { totalCount edges { node { id lines { amount } } } }
        invoices { number total } payments { amount } balance { amount currency }
        creditTerms { creditLimit } lifetimeValue { amount } } }"""
    body = await ask(world, clients, who, query, id=world.customers[own])
    customer = body["data"]["customer"]
    assert customer is not None and customer["orders"] is not None
    if spec.finance:
        assert "errors" not in body, body
        assert [i["number"] for i in customer["invoices"]] == [f"{INVOICE_MARK}{_erp_id(world, own)}"]
        assert Decimal(customer["balance"]["amount"]) == 20 and customer["balance"]["currency"] == "EUR"
        assert Decimal(customer["lifetimeValue"]["amount"]) == 120
        assert [Decimal(p["amount"]) for p in customer["payments"]] == [100]
    else:
        assert all(customer[name] is None for name in FINANCE_FIELDS)
        assert all(_forbidden(body, ["customer", name]) for name in FINANCE_FIELDS)
        assert len(body["errors"]) == len(FINANCE_FIELDS), body["errors"]
    # a customer out of scope comes back as nothing at all, with nothing nested
    for label in world.customers:
        if not world.visible(label, spec.scope):
            hidden = await ask(world, clients, who, query, id=world.customers[label])
            assert hidden == {"data": {"customer": None}}


def _erp_id(world: World, label: str) -> str:
    path = world.hub.settings.database_url.split("///", 1)[1]
    with sqlite3.connect(path) as db:
        (external,) = db.execute(
            "SELECT external_id FROM customer_links WHERE source = 'erp' AND hub_customer_id = ?",
            (world.customers[label],),
        ).fetchone()
    return str(external)


@each_principal
async def test_timeline(world: World, clients: dict[str, httpx.AsyncClient], who: str) -> None:
    spec = PRINCIPALS[who]
    own = "c_b" if spec.scope == frozenset({"B"}) else "c_a"
    query = """query($id: ID!) { customer(id: $id) { timeline(first: 100) {
        totalCount edges { node { kind source referenceId } } } } }"""
    body = await ask(world, clients, who, query, id=world.customers[own])
    assert "errors" not in body, body
    timeline = body["data"]["customer"]["timeline"]
    episodes = [edge["node"] for edge in timeline["edges"]]
    assert timeline["totalCount"] == len(episodes)
    allowed_kind = {
        "activity": spec.activities,
        "competitor_note": spec.notes,
        "opportunity": spec.opportunities,
        "lead": spec.leads,
    }
    candidates = {
        "c_a": [
            ("activity", "act_a"),
            ("activity", "act_x"),
            ("competitor_note", "note_a"),
            ("competitor_note", "note_x"),
            ("opportunity", "opp_a"),
            ("opportunity", "opp_x"),
        ],
        "c_b": [("activity", "act_b"), ("competitor_note", "note_b"), ("opportunity", "opp_b")],
    }[own]
    expected = {
        (kind, world.id_of(label))
        for kind, label in candidates
        if allowed_kind[kind] and world.visible(label, spec.scope)
    }
    crm = {(e["kind"], e["referenceId"]) for e in episodes if e["source"] == "crm"}
    assert crm == expected
    silo_kinds = {e["kind"] for e in episodes if e["source"] != "crm"}
    assert ({"invoice", "payment"} <= silo_kinds) == spec.finance
    assert not ({"invoice", "payment"} & silo_kinds) or spec.finance


# -- the CRM entities --------------------------------------------------------------------------------


async def _list_and_lookup(
    world: World,
    clients: dict[str, httpx.AsyncClient],
    who: str,
    allowed: bool,
    table: dict[str, str],
    list_query: str,
    root: str,
    lookup: str | None,
) -> None:
    spec = PRINCIPALS[who]
    body = await ask(world, clients, who, list_query)
    if not allowed:
        assert body["data"] is None and _forbidden(body, [root]), body
        return
    assert "errors" not in body, body
    found = body["data"][root]
    nodes = [edge["node"] for edge in found["edges"]] if isinstance(found, dict) else found
    assert {node["id"] for node in nodes} == _visible_ids(world, spec, table)
    if isinstance(found, dict):
        assert found["totalCount"] == len(nodes)
    if lookup is None:
        return
    for label, record_id in table.items():
        one = await ask(
            world, clients, who, f"query($id: ID!) {{ {lookup}(id: $id) {{ id }} }}", id=record_id
        )
        assert (one["data"][lookup] is not None) == world.visible(label, spec.scope), (who, label)


@each_principal
async def test_leads(world: World, clients: dict[str, httpx.AsyncClient], who: str) -> None:
    query = "{ leads(first: 100) { totalCount edges { node { id name } } } }"
    await _list_and_lookup(world, clients, who, PRINCIPALS[who].leads, world.leads, query, "leads", "lead")


@each_principal
async def test_opportunities_and_pipeline(
    world: World, clients: dict[str, httpx.AsyncClient], who: str
) -> None:
    spec = PRINCIPALS[who]
    query = "{ opportunities(first: 100) { totalCount edges { node { id customer { id } } } } }"
    await _list_and_lookup(
        world, clients, who, spec.opportunities, world.opportunities, query, "opportunities", "opportunity"
    )
    if spec.opportunities:
        body = await ask(world, clients, who, "{ pipeline(groupBy: TERRITORY) { key count } }")
        assert sum(g["count"] for g in body["data"]["pipeline"]) == len(
            _visible_ids(world, spec, world.opportunities)
        )
        # the B deal on an A customer: a rep of A sees the customer, not the deal; a rep of B the reverse
        deal = await ask(
            world,
            clients,
            who,
            "query($id: ID!) { opportunity(id: $id) { id customer { id } } }",
            id=world.opportunities["opp_x"],
        )
        if deal["data"]["opportunity"] is not None:
            expected = world.customers["c_a"] if world.visible("c_a", spec.scope) else None
            assert (deal["data"]["opportunity"]["customer"] or {}).get("id") == expected


@each_principal
async def test_competitor_notes_and_summary(
    world: World, clients: dict[str, httpx.AsyncClient], who: str
) -> None:
    spec = PRINCIPALS[who]
    await _list_and_lookup(
        world,
        clients,
        who,
        spec.notes,
        world.notes,
        "{ competitorNotes { id competitor } }",
        "competitorNotes",
        None,
    )
    if spec.notes:
        body = await ask(world, clients, who, "{ competitorSummary { competitor notes } }")
        assert sum(s["notes"] for s in body["data"]["competitorSummary"]) == len(
            _visible_ids(world, spec, world.notes)
        )


@each_principal
async def test_activities_and_call_queue(
    world: World, clients: dict[str, httpx.AsyncClient], who: str
) -> None:
    spec = PRINCIPALS[who]
    query = "{ activities(first: 100) { totalCount edges { node { id subject } } } }"
    await _list_and_lookup(world, clients, who, spec.activities, world.activities, query, "activities", None)
    if spec.activities:
        body = await ask(
            world, clients, who, "query($rep: ID!) { callQueue(owner: $rep) { id } }", rep=world.reps["rep_a"]
        )
        queue = {a["id"] for a in body["data"]["callQueue"]}
        tasks = {label: world.activities[label] for label in ("act_a", "act_x")}
        assert queue == _visible_ids(world, spec, tasks)


@each_principal
async def test_export(world: World, clients: dict[str, httpx.AsyncClient], who: str) -> None:
    spec = PRINCIPALS[who]
    response = await clients[who].get("/export/customers.ndjson", params={"fields": "name"})
    if not spec.export:
        assert (
            response.status_code == 403 and response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        )
        return
    assert response.status_code == 200, response.text
    ids = {json.loads(line)["id"] for line in response.text.splitlines() if line}
    if spec.scope is None:
        assert set(world.customers.values()) <= ids
    else:
        assert ids == _visible_ids(world, spec, world.customers)


# -- mutations on records in and out of scope -------------------------------------------------------

UPDATES = {  # kind: (mutation, input, payload field)
    "leads": ("updateLead", '{ name: "x" }', "lead"),
    "opportunities": ("updateOpportunity", '{ name: "x" }', "opportunity"),
    "activities": ("updateActivity", '{ subject: "x" }', "activity"),
    "notes": ("updateCompetitorNote", '{ strengths: "x" }', "note"),
}


@each_principal
@pytest.mark.parametrize("kind", list(UPDATES))
async def test_updates_reach_only_records_in_scope(
    world: World, clients: dict[str, httpx.AsyncClient], who: str, kind: str
) -> None:
    """An update with a wrong version: STALE_VERSION proves the record was reached (and nothing changes),
    NOT_FOUND that it was not; without the permission the mutation is refused before it runs."""
    spec = PRINCIPALS[who]
    mutation, input_value, payload = UPDATES[kind]
    allowed = spec.write_activities if kind == "activities" else spec.write_sales
    table = {
        "leads": world.leads,
        "opportunities": world.opportunities,
        "activities": world.activities,
        "notes": world.notes,
    }[kind]
    for label, record_id in table.items():
        query = f"mutation($id: ID!) {{ {mutation}(id: $id, version: 999, input: {input_value}) {{ {payload} {{ id }} errors {{ code }} }} }}"
        status, body = await gql(clients[who], query, {"id": record_id})
        assert status == 200
        if not allowed:
            assert body["data"] is None and _forbidden(body, [mutation]), body
            continue
        result = body["data"][mutation]
        assert result[payload] is None
        expected = "STALE_VERSION" if world.visible(label, spec.scope) else "NOT_FOUND"
        assert [e["code"] for e in result["errors"]] == [expected], (who, label, result)


@pytest.mark.parametrize("who", ["rep_a", "jwt_rep_a", "rep_b"])
async def test_references_out_of_scope_are_not_found(
    world: World, clients: dict[str, httpx.AsyncClient], who: str
) -> None:
    spec = PRINCIPALS[who]
    other = "B" if "A" in (spec.scope or ()) else "A"
    own_lead = "lead_a" if other == "B" else "lead_b"
    foreign_customer = world.customers["c_b" if other == "B" else "c_a"]
    checks = [
        (
            "createActivity",
            'mutation($c: ID!) { createActivity(input: { type: CALL, subject: "x", customerId: $c }) { activity { id } errors { code field } } }',
            {"c": foreign_customer},
        ),
        (
            "createOpportunity",
            'mutation($c: ID!) { createOpportunity(input: { customerId: $c, name: "x", amount: "1", currency: "EUR", stage: "Prospecting", closeDate: "2030-01-01" }) { opportunity { id } errors { code field } } }',
            {"c": foreign_customer},
        ),
        (
            "createCompetitorNote",
            'mutation($c: ID!) { createCompetitorNote(input: { competitor: "x", customerId: $c }) { note { id } errors { code field } } }',
            {"c": foreign_customer},
        ),
        (
            "assignLead",
            "mutation($l: ID!, $t: ID!) { assignLead(id: $l, version: 1, territoryId: $t) { lead { id } errors { code field } } }",
            {"l": world.leads[own_lead], "t": world.territories[other]},
        ),
        (
            "convertLead",
            "mutation($l: ID!, $c: ID!) { convertLead(id: $l, version: 1, input: { customerId: $c }) { lead { id } errors { code field } } }",
            {"l": world.leads[own_lead], "c": foreign_customer},
        ),
        (
            "createLead",
            'mutation($t: ID!) { createLead(input: { name: "x", territoryId: $t }) { lead { id } errors { code field } } }',
            {"t": world.territories[other]},
        ),
    ]
    for mutation, query, variables in checks:
        status, body = await gql(clients[who], query, variables)
        assert status == 200, body
        errors = body["data"][mutation]["errors"]
        assert [e["code"] for e in errors] == ["NOT_FOUND"], (mutation, body)


@pytest.mark.parametrize("who", ["support_agent", "finance", "bi_reader"])
async def test_roles_without_write_permission_are_refused(
    world: World, clients: dict[str, httpx.AsyncClient], who: str
) -> None:
    status, body = await gql(clients[who], 'mutation { createLead(input: { name: "x" }) { lead { id } } }')
    assert status == 200 and body["data"] is None and _forbidden(body, ["createLead"])
    status, body = await gql(clients[who], "{ apiKeys { id } }")
    assert body["data"] is None and _forbidden(body, ["apiKeys"])


# -- principals that are not let in -----------------------------------------------------------------


@pytest.mark.parametrize("who", REFUSED)
async def test_refused_principals_get_401_everywhere(
    world: World, clients: dict[str, httpx.AsyncClient], who: str
) -> None:
    client = clients[who]
    requests = [
        client.post("/graphql", json={"query": "{ customers(first: 1) { totalCount } }"}),
        client.post("/graphql", json={"query": '{ customer(id: "x") { id } }'}),
        client.post("/graphql", json={"query": "{ leads { totalCount } }"}),
        client.post(
            "/graphql", json={"query": 'mutation { createLead(input: { name: "x" }) { lead { id } } }'}
        ),
        client.get("/graphql", params={"query": "{ customers { totalCount } }"}),
        client.get("/metrics"),
        client.get("/export/customers.ndjson"),
    ]
    for request in requests:
        response = await request
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith('Bearer realm="crmhub"')
        body = response.json()
        assert "data" not in body and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        if who == "no_key":
            assert "error=" not in response.headers["www-authenticate"]
        else:
            assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert (await client.get("/health")).status_code == 200
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
