"""Territories on SQLite and PostgreSQL: the hierarchy (no cycles), members, rules (AND/OR/expressions,
priority, specificity), manual overrides, and a whole assignment run over the ERP silo's customers."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.crm.errors import (
    DuplicateError,
    NotFoundError,
    StaleVersionError,
    TerritoryCycleError,
    ValidationError,
)
from hub.crm.models import CustomerTerritory
from hub.crm.services import assignment, leads, reps, territories
from hub.hub import Hub
from hub.store.models import CustomerLink
from silos.erp import ErpGenerator

from .conftest import ERP_TEST_SIZE
from .support.crm import BACKENDS, crm_hub, ctx_for
from .support.hub import erp_source

ERP_SEED = 7  # the seed of the session's `erp_sqlite`


@pytest.fixture(scope="module", params=BACKENDS)
async def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, erp_sqlite: Path
) -> AsyncIterator[Hub]:
    sources = [erp_source(f"sqlite+aiosqlite:///{erp_sqlite}")]
    async with crm_hub(tmp_path_factory.mktemp("crm-territories"), request.param, sources=sources) as running:
        yield running


async def test_hierarchy_rejects_cycles_and_bad_parents(hub: Hub) -> None:
    ctx = ctx_for(hub)
    root = await territories.create_territory(ctx, fields={"name": "H Root", "type": "region"})
    child = await territories.create_territory(
        ctx, fields={"name": "H Child", "type": "country", "parent_id": root.id}
    )
    leaf = await territories.create_territory(
        ctx, fields={"name": "H Leaf", "type": "state", "parent_id": child.id}
    )
    for parent in (leaf.id, child.id, root.id):
        with pytest.raises(TerritoryCycleError) as caught:
            await territories.update_territory(
                ctx, territory_id=root.id, version=1, changes={"parent_id": parent}
            )
        assert (caught.value.code, caught.value.field) == ("TERRITORY_CYCLE", "parentId")
    with pytest.raises(NotFoundError) as missing:
        await territories.update_territory(
            ctx, territory_id=leaf.id, version=1, changes={"parent_id": "ter_none"}
        )
    assert missing.value.field == "parentId"
    with pytest.raises(DuplicateError) as taken:
        await territories.create_territory(ctx, fields={"name": "H Child", "type": "other"})
    assert taken.value.field == "name"
    with pytest.raises(ValidationError) as bad_type:
        await territories.create_territory(ctx, fields={"name": "H Odd", "type": "galaxy"})
    assert bad_type.value.field == "type"

    moved = await territories.update_territory(
        ctx, territory_id=leaf.id, version=1, changes={"parent_id": root.id}
    )
    assert moved.parent_id == root.id and moved.version == 2
    with pytest.raises(StaleVersionError):
        await territories.update_territory(ctx, territory_id=leaf.id, version=1, changes={"name": "H Late"})
    tree = {node.territory.name: node for node in await territories.territory_tree(ctx)}
    assert sorted(c.territory.name for c in tree["H Root"].children) == ["H Child", "H Leaf"]
    assert all(c.depth == 1 for c in tree["H Root"].children)


async def test_members_and_rule_validation(hub: Hub) -> None:
    ctx = ctx_for(hub)
    territory = await territories.create_territory(ctx, fields={"name": "M Territory", "type": "other"})
    rep = await reps.create_sales_rep(ctx, fields={"name": "Mia Member", "email": "mia@crm.example.com"})
    member = await territories.add_territory_member(
        ctx, territory_id=territory.id, rep_id=rep.id, role="owner"
    )
    with pytest.raises(DuplicateError):
        await territories.add_territory_member(ctx, territory_id=territory.id, rep_id=rep.id, role="rep")
    with pytest.raises(ValidationError) as role:
        await territories.add_territory_member(ctx, territory_id=territory.id, rep_id=rep.id, role="boss")
    assert role.value.field == "role"
    changed = await territories.update_territory_member(ctx, member_id=member.id, version=1, role="rep")
    assert changed.role == "rep" and changed.version == 2
    with pytest.raises(StaleVersionError):
        await territories.remove_territory_member(ctx, member_id=member.id, version=1)
    await territories.remove_territory_member(ctx, member_id=member.id, version=2)

    with pytest.raises(ValidationError) as expression:
        await territories.create_territory_rule(
            ctx,
            territory_id=territory.id,
            fields={
                "name": "bad",
                "expression": "1 AND 3",
                "conditions": [{"field": "country", "operator": "equals", "values": ["DE"]}],
            },
        )
    assert expression.value.field == "expression"
    with pytest.raises(NotFoundError):
        await territories.create_territory_rule(
            ctx,
            territory_id="ter_nowhere",
            fields={
                "name": "lost",
                "conditions": [{"field": "country", "operator": "equals", "values": ["DE"]}],
            },
        )
    rule = await territories.create_territory_rule(
        ctx,
        territory_id=territory.id,
        fields={"name": "ok", "conditions": [{"field": "country", "operator": "equals", "values": ["ZZ"]}]},
    )
    assert (rule.priority, rule.logic, rule.active) == (100, "AND", True)
    updated = await territories.update_territory_rule(
        ctx, rule_id=rule.id, version=1, changes={"logic": "OR"}
    )
    assert updated.logic == "OR" and updated.version == 2
    await territories.delete_territory_rule(ctx, rule_id=rule.id, version=2)
    assert await territories.territory_rules(ctx, territory_id=territory.id) == []


def expected_territory(company: dict, territory_codes: dict[int, str]) -> str | None:
    """The rules below, written out independently."""
    country, industry = company["country"], company["industry"]
    if industry == "Food & Beverage" and country in ("DE", "GB"):
        return "Food Accounts"
    if country == "DE" and (
        company["region"] == "Bayern" or territory_codes[company["territory_id"]] == "DE-HE"
    ):
        return "Bavaria and Hesse"
    if country == "DE":
        return "Germany"
    if country in ("FR", "NL", "AT"):
        return "Europe"
    if country in ("SE", "IE"):
        return "Nordics and Ireland"
    return None


async def test_assignment_run_follows_rules_priority_specificity_and_manual_overrides(hub: Hub) -> None:
    ctx = ctx_for(hub, "planner")
    create = territories.create_territory
    europe = await create(ctx, fields={"name": "Europe", "type": "region"})
    germany = await create(ctx, fields={"name": "Germany", "type": "country", "parent_id": europe.id})
    south = await create(ctx, fields={"name": "Bavaria and Hesse", "type": "state", "parent_id": germany.id})
    food = await create(ctx, fields={"name": "Food Accounts", "type": "named_accounts"})
    north = await create(ctx, fields={"name": "Nordics and Ireland", "type": "region"})
    americas = await create(ctx, fields={"name": "Americas", "type": "region"})

    def equals(field: str, *values: str) -> dict:
        return {"field": field, "operator": "equals", "values": list(values)}

    rule = territories.create_territory_rule
    await rule(
        ctx,
        territory_id=europe.id,
        fields={"name": "EU", "conditions": [equals("country", "DE", "FR", "NL", "AT")]},
    )
    await rule(ctx, territory_id=germany.id, fields={"name": "DE", "conditions": [equals("country", "DE")]})
    await rule(
        ctx,
        territory_id=south.id,
        fields={
            "name": "South",
            "expression": "(1 OR 2) AND 3",
            "conditions": [
                equals("region", "bayern"),
                equals("territory_code", "DE-HE"),
                equals("country", "DE"),
            ],
        },
    )
    await rule(
        ctx,
        territory_id=food.id,
        fields={
            "name": "Food",
            "priority": 10,
            "conditions": [equals("industry", "Food & Beverage"), equals("country", "DE", "GB")],
        },
    )
    await rule(
        ctx,
        territory_id=north.id,
        fields={
            "name": "North",
            "logic": "OR",
            "conditions": [equals("country", "SE"), equals("country", "IE")],
        },
    )
    await rule(
        ctx,
        territory_id=americas.id,
        fields={"name": "US (off)", "active": False, "conditions": [equals("country", "US")]},
    )
    owner = await reps.create_sales_rep(ctx, fields={"name": "Olga Owner", "email": "olga@crm.example.com"})
    await territories.add_territory_member(ctx, territory_id=north.id, rep_id=owner.id, role="owner")

    swede = (await leads.create_lead(ctx, fields={"name": "Sven", "country": "SE"})).lead
    big_german = (
        await leads.create_lead(ctx, fields={"name": "Karl", "country": "de", "region": "Bayern"})
    ).lead
    pinned = (
        await leads.create_lead(ctx, fields={"name": "Pia", "country": "FR", "territory_id": americas.id})
    ).lead

    calls_before = hub.metrics.upstream_requests.labels("erp", "customer", "get_many", "ok")._value.get()
    report = await assignment.run_territory_assignment(ctx)
    calls = (
        hub.metrics.upstream_requests.labels("erp", "customer", "get_many", "ok")._value.get() - calls_before
    )
    assert calls == 1, "one batched silo read for all customers, not one per customer"

    generator = ErpGenerator(ERP_TEST_SIZE, seed=ERP_SEED)
    codes = {row["id"]: row["code"] for row in generator.organisation.territories}
    expected = {str(c["id"]): expected_territory(c, codes) for c in generator.rows("companies")}
    names = {t.id: t.name for t in await territories.list_territories(ctx)}
    async with hub.db.session() as session:
        erp_ids = dict(
            (
                await session.execute(
                    select(CustomerLink.hub_customer_id, CustomerLink.external_id).where(
                        CustomerLink.source == "erp"
                    )
                )
            ).all()
        )
        actual = {
            erp_ids[row.hub_customer_id]: names[row.territory_id]
            for row in await session.scalars(select(CustomerTerritory))
        }
    assert actual == {k: v for k, v in expected.items() if v is not None}
    assert {"Food Accounts", "Bavaria and Hesse", "Germany", "Europe", "Nordics and Ireland"} <= set(
        actual.values()
    )
    assert report.customers.assigned == len(actual) and report.customers.changed == len(actual)
    assert report.customers.assigned + report.customers.unassigned == ERP_TEST_SIZE
    tally = {t.name: t for t in report.per_territory}
    assert {n: t.customers for n, t in tally.items() if t.customers} == dict(Counter(actual.values()))

    assert (await leads.get_lead(ctx, lead_id=swede.id)).territory_id == north.id
    assert (await leads.get_lead(ctx, lead_id=swede.id)).owner_id == owner.id  # the territory's owner
    assert (await leads.get_lead(ctx, lead_id=big_german.id)).territory_id == south.id
    assert (await leads.get_lead(ctx, lead_id=pinned.id)).territory_id == americas.id  # manual wins
    assert report.leads.manual_kept >= 1 and report.lead_owners_set >= 1

    # Manual override of a customer: kept by the next run, then released back to the rules.
    german = next(k for k, v in actual.items() if v == "Germany")
    hub_id = next(h for h, e in erp_ids.items() if e == german)
    current = await territories.customer_territory(ctx, customer_id=hub_id)
    with pytest.raises(StaleVersionError):  # it has an assignment: its version must be named
        await territories.assign_customer_territory(ctx, customer_id=hub_id, territory_id=americas.id)
    pinned_customer = await territories.assign_customer_territory(
        ctx, customer_id=hub_id, territory_id=americas.id, version=current.version
    )
    assert pinned_customer.manual and pinned_customer.territory_id == americas.id
    again = await assignment.run_territory_assignment(ctx)
    assert again.customers.manual_kept == 1 and again.customers.changed == 0
    assert (await territories.customer_territory(ctx, customer_id=hub_id)).territory_id == americas.id
    await territories.assign_customer_territory(
        ctx, customer_id=hub_id, territory_id=None, version=pinned_customer.version
    )
    released = await assignment.run_territory_assignment(ctx)
    assert released.customers.manual_kept == 0 and released.customers.changed == 1
    assert (await territories.customer_territory(ctx, customer_id=hub_id)).territory_id == germany.id

    # A rule that stops matching removes the assignments it made.
    with pytest.raises(NotFoundError):
        await territories.assign_customer_territory(ctx, customer_id="cus_nobody", territory_id=europe.id)
