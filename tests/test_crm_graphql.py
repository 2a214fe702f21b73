"""The CRM over GraphQL: Saleor-style payloads with typed errors, versions on updates, conversion,
CSV import, territories, pipeline, competitors, call queue and the customer timeline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hub.hub import Hub

from .support.crm import crm_hub
from .support.hub import api_client, erp_source, gql


@pytest.fixture(scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory, erp_sqlite: Path) -> AsyncIterator[Hub]:
    sources = [erp_source(f"sqlite+aiosqlite:///{erp_sqlite}")]
    async with crm_hub(tmp_path_factory.mktemp("crm-graphql"), "sqlite", sources=sources) as running:
        yield running


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(hub) as c:
        yield c


async def ok(client: httpx.AsyncClient, query: str, variables: dict | None = None) -> dict:
    status, body = await gql(client, query, variables)
    assert status == 200 and "errors" not in body, body
    return body["data"]


LEAD_FIELDS = "id name email status version expectedRevenue currency createdBy"
CREATE_LEAD = f"""mutation($input: LeadInput!) {{ createLead(input: $input) {{
    lead {{ {LEAD_FIELDS} }} duplicates {{ recordType recordId reason score }} errors {{ code field message }} }} }}"""


async def test_mutation_errors_are_in_the_payload(client: httpx.AsyncClient) -> None:
    data = await ok(client, CREATE_LEAD, {"input": {"name": "Bad", "email": "nope", "currency": "EUR"}})
    payload = data["createLead"]
    assert payload["lead"] is None and payload["duplicates"] == []
    assert payload["errors"] == [
        {"code": "BAD_USER_INPUT", "field": "email", "message": "email is not an email address"}
    ]
    data = await ok(
        client, CREATE_LEAD, {"input": {"name": "Money", "expectedRevenue": "12.345", "currency": "EUR"}}
    )
    assert data["createLead"]["errors"][0]["field"] == "expectedRevenue"


async def test_create_update_with_versions(client: httpx.AsyncClient) -> None:
    created = (
        await ok(
            client,
            CREATE_LEAD,
            {
                "input": {
                    "name": "Graph Lead",
                    "email": "graph@lead.example.com",
                    "expectedRevenue": "99.90",
                    "currency": "eur",
                    "source": "CAMPAIGN",
                }
            },
        )
    )["createLead"]
    lead = created["lead"]
    assert created["errors"] == [] and lead["status"] == "NEW" and lead["version"] == 1
    assert lead["expectedRevenue"] == "99.90" and lead["createdBy"] == "tests"  # the name of api_client's key
    update = """mutation($id: ID!, $version: Int!, $input: LeadUpdateInput!) {
        updateLead(id: $id, version: $version, input: $input) { lead { title version status } errors { code field } } }"""
    first = await ok(
        client, update, {"id": lead["id"], "version": 1, "input": {"title": "CTO", "status": "CONTACTED"}}
    )
    assert first["updateLead"]["lead"] == {"title": "CTO", "version": 2, "status": "CONTACTED"}
    stale = await ok(client, update, {"id": lead["id"], "version": 1, "input": {"title": "CEO"}})
    assert stale["updateLead"] == {"lead": None, "errors": [{"code": "STALE_VERSION", "field": "version"}]}
    bad_status = await ok(client, update, {"id": lead["id"], "version": 2, "input": {"status": "CONVERTED"}})
    assert bad_status["updateLead"]["errors"] == [{"code": "BAD_USER_INPUT", "field": "status"}]
    missing = await ok(client, update, {"id": "lead_nope", "version": 1, "input": {"title": "x"}})
    assert missing["updateLead"]["errors"] == [{"code": "NOT_FOUND", "field": "id"}]
    again = await ok(
        client, CREATE_LEAD, {"input": {"name": "Graph Twin", "email": "graph@lead.example.com"}}
    )
    assert {"recordType": "LEAD", "recordId": lead["id"], "reason": "SAME_EMAIL", "score": 1.0} in again[
        "createLead"
    ]["duplicates"]


async def test_convert_then_timeline_then_twice(client: httpx.AsyncClient) -> None:
    lead = (
        await ok(
            client,
            CREATE_LEAD,
            {
                "input": {
                    "name": "Convert Me",
                    "company": "Graph Conversion Ltd",
                    "expectedRevenue": "2500",
                    "currency": "GBP",
                    "country": "GB",
                }
            },
        )
    )["createLead"]["lead"]
    convert = """mutation($id: ID!, $version: Int!, $input: ConvertLeadInput) {
        convertLead(id: $id, version: $version, input: $input) {
          lead { status version } customer { id name sources { source rule } }
          opportunity { name stage probability amount weightedAmount currency customerId competitors }
          createdCustomer errors { code field } } }"""
    done = (
        await ok(
            client,
            convert,
            {
                "id": lead["id"],
                "version": 1,
                "input": {"opportunity": {"stage": "Proposal", "closeDate": "2031-01-01"}},
            },
        )
    )["convertLead"]
    assert done["errors"] == [] and done["createdCustomer"] is True and done["lead"]["status"] == "CONVERTED"
    customer = done["customer"]
    assert customer["name"] == "Graph Conversion Ltd"
    assert customer["sources"] == [{"source": "crm", "rule": "lead_conversion"}]
    assert done["opportunity"] == {
        "name": "Graph Conversion Ltd",
        "stage": "Proposal",
        "probability": 50,
        "amount": "2500.00",
        "weightedAmount": "1250.00",
        "currency": "GBP",
        "customerId": customer["id"],
        "competitors": [],
    }
    twice = (await ok(client, convert, {"id": lead["id"], "version": done["lead"]["version"]}))["convertLead"]
    assert twice["errors"] == [{"code": "ALREADY_CONVERTED", "field": "leadId"}] and twice["customer"] is None

    timeline = """query($id: ID!, $kinds: [String!]) { customer(id: $id) {
        timeline(first: 10, kinds: $kinds) { totalCount edges { node { kind action title source amount } } } } }"""
    data = await ok(client, timeline, {"id": customer["id"], "kinds": ["lead", "opportunity"]})
    nodes = [e["node"] for e in data["customer"]["timeline"]["edges"]]
    assert sorted((n["kind"], n["action"]) for n in nodes) == [
        ("lead", "converted"),
        ("lead", "created"),
        ("opportunity", "created"),
    ]
    assert all(n["source"] == "crm" for n in nodes)
    _, body = await gql(client, timeline, {"id": customer["id"], "kinds": ["rumours"]})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "kinds"}


async def test_timeline_of_an_erp_customer_pages(client: httpx.AsyncClient) -> None:
    first = await ok(
        client, "{ customers(first: 1) { edges { node { id orders(first: 100) { totalCount } } } } }"
    )
    node = first["customers"]["edges"][0]["node"]
    query = """query($id: ID!, $after: String) { customer(id: $id) { timeline(first: 2, after: $after, kinds: ["order"]) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { kind occurredAt amount currency } } } } }"""
    seen, after = [], None
    while True:
        page = (await ok(client, query, {"id": node["id"], "after": after}))["customer"]["timeline"]
        seen += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == page["totalCount"] == node["orders"]["totalCount"]
    assert [n["occurredAt"] for n in seen] == sorted((n["occurredAt"] for n in seen), reverse=True)


async def test_import_leads_payload(client: httpx.AsyncClient) -> None:
    mutation = """mutation($csv: String!, $dry: Boolean!) { importLeads(csv: $csv, dryRun: $dry) {
        dryRun rows imported leads { name source } rowErrors { row field code } errors { code field } } }"""
    bad = (await ok(client, mutation, {"csv": "name,email\nOk,ok@csv.example.com\nBad,bad\n", "dry": False}))[
        "importLeads"
    ]
    assert bad["imported"] == 0 and bad["rowErrors"] == [
        {"row": 2, "field": "email", "code": "BAD_USER_INPUT"}
    ]
    assert bad["errors"] == [{"code": "IMPORT_FAILED", "field": "csv"}]
    good_csv = "name,email\nOk,ok@csv.example.com\nAlso Ok,also@csv.example.com\n"
    dry = (await ok(client, mutation, {"csv": good_csv, "dry": True}))["importLeads"]
    assert (dry["dryRun"], dry["rows"], dry["imported"], dry["errors"]) == (True, 2, 0, [])
    real = (await ok(client, mutation, {"csv": good_csv, "dry": False}))["importLeads"]
    assert real["imported"] == 2 and real["leads"] == [
        {"name": "Ok", "source": "IMPORT"},
        {"name": "Also Ok", "source": "IMPORT"},
    ]
    empty = (await ok(client, mutation, {"csv": "", "dry": False}))["importLeads"]
    assert empty["errors"] == [{"code": "BAD_USER_INPUT", "field": "csv"}]


async def test_territories_assignment_pipeline_and_queue(client: httpx.AsyncClient) -> None:
    create = """mutation($input: TerritoryInput!) { createTerritory(input: $input) { territory { id version } errors { code field } } }"""
    europe = (await ok(client, create, {"input": {"name": "GQL Europe", "type": "REGION"}}))[
        "createTerritory"
    ]["territory"]
    uk = (
        await ok(client, create, {"input": {"name": "GQL UK", "type": "COUNTRY", "parentId": europe["id"]}})
    )["createTerritory"]["territory"]
    cycle = await ok(
        client,
        """mutation($id: ID!, $parent: ID!) { updateTerritory(id: $id, version: 1, input: {parentId: $parent}) {
        territory { id } errors { code field } } }""",
        {"id": europe["id"], "parent": uk["id"]},
    )
    assert cycle["updateTerritory"]["errors"] == [{"code": "TERRITORY_CYCLE", "field": "parentId"}]
    rule = """mutation($t: ID!, $input: TerritoryRuleInput!) { createTerritoryRule(territoryId: $t, input: $input) {
        rule { id priority conditions { field operator values } } errors { code field } } }"""
    made = await ok(
        client,
        rule,
        {
            "t": uk["id"],
            "input": {
                "name": "GB",
                "conditions": [{"field": "COUNTRY", "operator": "EQUALS", "values": ["GB"]}],
            },
        },
    )
    assert made["createTerritoryRule"]["rule"]["conditions"] == [
        {"field": "COUNTRY", "operator": "EQUALS", "values": ["GB"]}
    ]
    bad = await ok(
        client,
        rule,
        {
            "t": uk["id"],
            "input": {"name": "x", "conditions": [{"field": "COUNTRY", "operator": "BETWEEN", "min": "1"}]},
        },
    )
    assert bad["createTerritoryRule"]["errors"] == [{"code": "BAD_USER_INPUT", "field": "conditions"}]
    rep = (
        await ok(
            client,
            """mutation { createSalesRep(input: {name: "Gail Graph", email: "gail@graph.example.com"}) {
        salesRep { id } errors { code } } }""",
        )
    )["createSalesRep"]["salesRep"]
    await ok(
        client,
        """mutation($t: ID!, $r: ID!) { addTerritoryMember(territoryId: $t, repId: $r, role: OWNER) { errors { code } } }""",
        {"t": uk["id"], "r": rep["id"]},
    )

    report = (
        await ok(
            client,
            """mutation { runTerritoryAssignment {
        customers { assigned unassigned manualKept } perTerritory { name customers leads } } }""",
        )
    )["runTerritoryAssignment"]
    uk_tally = next(t for t in report["perTerritory"] if t["name"] == "GQL UK")
    assert uk_tally["customers"] > 0 and report["customers"]["assigned"] >= uk_tally["customers"]

    tree = await ok(
        client, """{ territories { name children { name members { role rep { name } } rules { name } } } }"""
    )
    root = next(t for t in tree["territories"] if t["name"] == "GQL Europe")
    assert root["children"] == [
        {
            "name": "GQL UK",
            "members": [{"role": "OWNER", "rep": {"name": "Gail Graph"}}],
            "rules": [{"name": "GB"}],
        }
    ]

    uk_customer = await ok(client, "{ customers(first: 100) { edges { node { id address { country } } } } }")
    customer_id = next(
        e["node"]["id"] for e in uk_customer["customers"]["edges"] if e["node"]["address"]["country"] == "GB"
    )
    opportunity = """mutation($input: OpportunityInput!) { createOpportunity(input: $input) {
        opportunity { id territory { name } probability } errors { code field } } }"""
    for amount, stage in (("100.00", "Prospecting"), ("300.00", "Negotiation")):
        made = (
            await ok(
                client,
                opportunity,
                {
                    "input": {
                        "customerId": customer_id,
                        "name": f"GQL {stage}",
                        "amount": amount,
                        "currency": "GBP",
                        "stage": stage,
                        "closeDate": "2032-07-01",
                        "ownerId": rep["id"],
                    }
                },
            )
        )["createOpportunity"]
        assert made["errors"] == [] and made["opportunity"]["territory"] == {"name": "GQL UK"}
    lost = (
        await ok(
            client,
            opportunity,
            {
                "input": {
                    "customerId": customer_id,
                    "name": "x",
                    "amount": "1",
                    "currency": "GBP",
                    "stage": "Closed Lost",
                    "closeDate": "2032-07-01",
                }
            },
        )
    )["createOpportunity"]
    assert lost["errors"] == [{"code": "BAD_USER_INPUT", "field": "lostReason"}]
    groups = (
        await ok(
            client,
            '{ pipeline(groupBy: TERRITORY, currency: "GBP") { label currency count amount weightedAmount } }',
        )
    )["pipeline"]
    assert {
        "label": "GQL UK",
        "currency": "GBP",
        "count": 2,
        "amount": "400.00",
        "weightedAmount": "235.00",
    } in groups

    task = """mutation($input: ActivityInput!) { createActivity(input: $input) { activity { id } errors { code field } } }"""
    for subject, due in (("second", "2032-01-02T10:00:00Z"), ("first", "2032-01-01T10:00:00Z")):
        await ok(
            client,
            task,
            {
                "input": {
                    "type": "TASK",
                    "subject": subject,
                    "dueAt": due,
                    "ownerId": rep["id"],
                    "customerId": customer_id,
                }
            },
        )
    queue = await ok(
        client,
        "query($o: ID!) { callQueue(owner: $o) { subject dueAt done owner { name } } }",
        {"o": rep["id"]},
    )
    assert [a["subject"] for a in queue["callQueue"]] == ["first", "second"]

    note = """mutation($input: CompetitorNoteInput!) { createCompetitorNote(input: $input) { note { outcome author } errors { code } } }"""
    await ok(
        client,
        note,
        {
            "input": {
                "competitor": "Hooli",
                "customerId": customer_id,
                "observedPrice": "10",
                "currency": "GBP",
                "outcome": "LOST",
            }
        },
    )
    summary = await ok(
        client,
        '{ competitorSummary(competitor: "hooli") { competitor notes losses averagePrices { currency average } } }',
    )
    assert summary["competitorSummary"] == [
        {
            "competitor": "Hooli",
            "notes": 1,
            "losses": 1,
            "averagePrices": [{"currency": "GBP", "average": "10.00"}],
        }
    ]


async def test_leads_list_filters_and_pages(client: httpx.AsyncClient) -> None:
    for number in range(5):
        await ok(client, CREATE_LEAD, {"input": {"name": f"Pager {number}", "company": "Paging Corp"}})
    query = """query($after: String) { leads(first: 2, after: $after, search: "paging corp", status: NEW) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } }"""
    names, after = [], None
    while True:
        page = (await ok(client, query, {"after": after}))["leads"]
        names += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert names == [f"Pager {n}" for n in reversed(range(5))] and page["totalCount"] == 5
    _, body = await gql(client, '{ leads(after: "garbage") { totalCount } }')
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_assign_lead_keeps_what_is_not_named(client: httpx.AsyncClient) -> None:
    lead = (await ok(client, CREATE_LEAD, {"input": {"name": "Assignable"}}))["createLead"]["lead"]
    rep = await ok(
        client,
        'mutation { createSalesRep(input: {name: "Al Assign", email: "al@assign.example.com"}) { salesRep { id } } }',
    )
    territory = await ok(
        client, 'mutation { createTerritory(input: {name: "Assign Zone", type: OTHER}) { territory { id } } }'
    )
    rep_id = rep["createSalesRep"]["salesRep"]["id"]
    territory_id = territory["createTerritory"]["territory"]["id"]
    assign = """mutation($id: ID!, $v: Int!, $o: ID, $t: ID) { assignLead(id: $id, version: $v, ownerId: $o, territoryId: $t) {
        lead { version territoryManual owner { id } territory { id } } errors { code field } } }"""
    both = (await ok(client, assign, {"id": lead["id"], "v": 1, "o": rep_id, "t": territory_id}))[
        "assignLead"
    ]["lead"]
    assert both == {
        "version": 2,
        "territoryManual": True,
        "owner": {"id": rep_id},
        "territory": {"id": territory_id},
    }
    only_owner = """mutation($id: ID!) { assignLead(id: $id, version: 2, ownerId: null) {
        lead { owner { id } territory { id } } } }"""
    kept = (await ok(client, only_owner, {"id": lead["id"]}))["assignLead"]["lead"]
    assert kept == {"owner": None, "territory": {"id": territory_id}}
