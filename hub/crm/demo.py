"""Demo CRM data on top of the ERP silo: its regions and territories become the territory hierarchy
(region > country > state) with rules by country and region, its employees become sales reps and
territory members, and a few leads (some duplicating customers), opportunities in every stage, competitor
notes and activities make the pipeline, the call queue and the timeline worth a look.

Idempotent: every record has a derived id and an ``external_key``; a second run adds nothing.

Call it with the generator the ERP database was built from, or the ERP database's URL::

    await seed_demo_crm(hub, generator=ErpGenerator(size, seed=seed))
    await seed_demo_crm(hub, erp_database_url="sqlite+aiosqlite:///.../erp.sqlite")
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from hub.context import RequestContext
from hub.hub import Hub
from hub.store.models import HubCustomer

from .duplicates import email_domain, phone_key
from .ids import derived_id
from .models import (
    Activity,
    CompetitorNote,
    Lead,
    Opportunity,
    SalesRep,
    Territory,
    TerritoryMember,
    TerritoryRule,
)
from .services.assignment import run_territory_assignment
from .services.competitors import competitor_key
from .services.leads import insert_lead
from .services.opportunities import insert_opportunity
from .services.stages import list_stages
from .types import utcnow
from .versioning import audit_values, write_transaction

if TYPE_CHECKING:
    from silos.erp.generator import ErpGenerator

Row = dict[str, Any]
ACTOR = "demo"
ERP_TABLES = ("regions", "territories", "employees", "employee_territories")
COMPETITORS = ("Contoso", "Fabrikam", "Globex", "Initech")
LOST_REASONS = ("Price", "Chose a competitor", "No budget", "Timing")
FRESH_LEADS = (
    # name, company, email, country, city, industry, status, rating, expected revenue, currency
    ("Lena Hoffmann", "Brightwater Logistik GmbH", "l.hoffmann@brightwater-logistik.de", "DE", "Hamburg",
     "Logistics", "New", "Hot", 48000, "EUR"),
    ("Marc Dubois", "Atelier Lumière SARL", "marc.dubois@atelier-lumiere.fr", "FR", "Lyon", "Retail",
     "Contacted", "Warm", 12500, "EUR"),
    ("Olivia Grant", "Northgate Foods Ltd", "olivia@northgatefoods.co.uk", "GB", "Leeds", "Food & Beverage",
     "Qualified", "Hot", 90000, "GBP"),
    ("Jonas Berg", "Fjordline Energi AB", "jonas.berg@gmail.com", "SE", "Göteborg", "Energy", "New", "Cold",
     None, None),
    ("Ethan Cole", "Redwood Analytics Inc", "ethan.cole@redwood-analytics.com", "US", "Denver", "IT Services",
     "Unqualified", "Cold", 30000, "USD"),
)


@dataclass
class DemoReport:
    created: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int) -> None:
        self.created[kind] = self.created.get(kind, 0) + count


async def _erp_rows(generator: ErpGenerator | None, erp_database_url: str | None) -> dict[str, list[Row]]:
    if (generator is None) == (erp_database_url is None):
        raise ValueError("pass exactly one of generator or erp_database_url")
    if generator is not None:
        return {table: list(generator.rows(table)) for table in ERP_TABLES}
    engine = create_async_engine(erp_database_url)  # type: ignore[arg-type]
    try:
        async with engine.connect() as conn:
            return {
                table: [dict(row._mapping) for row in await conn.execute(text(f"SELECT * FROM {table}"))]
                for table in ERP_TABLES
            }
    finally:
        await engine.dispose()


async def _existing_keys(session: Any, model: Any) -> set[str]:
    return set((await session.scalars(select(model.external_key).where(model.external_key.is_not(None)))).all())


def _new(rows: Iterable[Any], existing: set[str]) -> list[Any]:
    return [row for row in rows if row.external_key not in existing]


async def _seed_organisation(ctx: RequestContext, erp: dict[str, list[Row]], report: DemoReport) -> None:
    audit = audit_values(ACTOR)
    regions = {row["id"]: row for row in erp["regions"]}
    reps = [
        SalesRep(
            id=derived_id("rep", f"erp:employee:{e['id']}"),
            name=f"{e['first_name']} {e['last_name']}",
            email=e["email"].lower(),
            active=bool(e["active"]),
            external_key=f"erp:employee:{e['id']}",
            **audit,
        )
        for e in erp["employees"]
    ]
    territories, rules, members = [], [], []
    for region in regions.values():
        key = f"erp:region:{region['code']}"
        countries = sorted(t["country"] for t in erp["territories"] if t["region_id"] == region["id"] and t["parent_id"] is None)
        territories.append(Territory(id=derived_id("territory", key), name=region["name"], type="region",
                                     parent_id=None, external_key=key, **audit))
        rules.append(TerritoryRule(
            id=derived_id("rule", key), territory_id=derived_id("territory", key), name=f"{region['name']} countries",
            priority=100, active=True, logic="AND", expression=None, external_key=key,
            conditions=[{"field": "country", "operator": "equals", "values": countries, "min": None, "max": None}],
            **audit,
        ))
        director = next((e for e in erp["employees"] if e["title"] == f"Sales Director {region['name']}"), None)
        if director is not None:
            members.append(TerritoryMember(
                id=derived_id("member", f"{key}:{director['id']}"), territory_id=derived_id("territory", key),
                rep_id=derived_id("rep", f"erp:employee:{director['id']}"), role="owner", **audit,
            ))
    by_erp_id = {t["id"]: t for t in erp["territories"]}
    for row in erp["territories"]:
        key = f"erp:territory:{row['code']}"
        if row["parent_id"] is None:
            parent_key = f"erp:region:{regions[row['region_id']]['code']}"
            conditions = [{"field": "country", "operator": "equals", "values": [row["country"]], "min": None, "max": None}]
            expression, kind, name = None, "country", row["name"]
        else:
            parent_key = f"erp:territory:{by_erp_id[row['parent_id']]['code']}"
            conditions = [
                {"field": "region", "operator": "equals", "values": [row["name"], row["code"]], "min": None, "max": None},
                {"field": "territory_code", "operator": "equals", "values": [row["code"], str(row["id"])],
                 "min": None, "max": None},
                {"field": "country", "operator": "equals", "values": [row["country"]], "min": None, "max": None},
            ]
            expression, kind, name = "(1 OR 2) AND 3", "state", f"{row['name']} ({row['country']})"
        territories.append(Territory(id=derived_id("territory", key), name=name, type=kind,
                                     parent_id=derived_id("territory", parent_key), external_key=key, **audit))
        rules.append(TerritoryRule(
            id=derived_id("rule", key), territory_id=derived_id("territory", key), name=f"{name} by address",
            priority=100, active=True, logic="AND", expression=expression, conditions=conditions,
            external_key=key, **audit,
        ))
    # Big leads go to named accounts first: a lower priority number beats any geography.
    key = "demo:territory:strategic"
    territories.append(Territory(id=derived_id("territory", key), name="Strategic Accounts", type="named_accounts",
                                 parent_id=None, external_key=key, **audit))
    rules.append(TerritoryRule(
        id=derived_id("rule", key), territory_id=derived_id("territory", key), name="Annual revenue from 50M",
        priority=10, active=True, logic="AND", expression=None, external_key=key,
        conditions=[{"field": "annual_revenue", "operator": "between", "values": [], "min": "50000000", "max": None}],
        **audit,
    ))
    covered: dict[int, int] = {}
    for link in erp["employee_territories"]:
        territory = by_erp_id[link["territory_id"]]
        covered[link["territory_id"]] = covered.get(link["territory_id"], 0) + 1
        t_key = f"erp:territory:{territory['code']}"
        members.append(TerritoryMember(
            id=derived_id("member", f"{t_key}:{link['employee_id']}"), territory_id=derived_id("territory", t_key),
            rep_id=derived_id("rep", f"erp:employee:{link['employee_id']}"),
            role="owner" if covered[link["territory_id"]] == 1 else "rep", **audit,
        ))
    async with write_transaction(ctx) as session:
        new_reps = _new(reps, await _existing_keys(session, SalesRep))
        session.add_all(new_reps)
        await session.flush()
        known_territories = await _existing_keys(session, Territory)
        for territory in territories:  # parents first, so keys resolve in order
            if territory.external_key not in known_territories:
                session.add(territory)
                await session.flush()
                report.add("territories", 1)
        new_rules = _new(rules, await _existing_keys(session, TerritoryRule))
        session.add_all(new_rules)
        known_members = set((await session.scalars(select(TerritoryMember.id))).all())
        new_members = [m for m in members if m.id not in known_members]
        session.add_all(new_members)
    report.add("sales_reps", len(new_reps))
    report.add("territory_rules", len(new_rules))
    report.add("territory_members", len(new_members))


async def _seed_leads(ctx: RequestContext, customers: list[HubCustomer], report: DemoReport) -> None:
    drafts: list[tuple[str, dict[str, Any]]] = []
    for number, row in enumerate(FRESH_LEADS):
        name, company, email, country, city, industry, status, rating, revenue, currency = row
        drafts.append((f"demo:lead:{number}", {
            "name": name, "company": company, "email": email, "country": country, "city": city,
            "industry": industry, "status": status, "rating": rating, "source": "web",
            "expected_revenue_minor": revenue * 100 if revenue else None, "currency": currency,
            "disqualification_reason": "No budget this year" if status == "Unqualified" else None,
        }))
    drafts.append(("demo:lead:strategic", {
        "name": "Hanna Vogel", "company": "Vogel Maschinenbau AG", "email": "hanna.vogel@vogel-maschinenbau.de",
        "country": "DE", "city": "Stuttgart", "industry": "Mechanical Engineering", "status": "Qualified",
        "rating": "Hot", "source": "event", "annual_revenue_minor": 120_000_000 * 100,
        "expected_revenue_minor": 250_000 * 100, "currency": "EUR",
    }))
    for number, customer in enumerate(customers[:3]):  # people at existing customers: duplicate hints
        mail = next((w for w in customer.search_text.split() if "@" in w), None)
        domain = email_domain(mail) or "example.com"
        drafts.append((f"demo:lead:dup:{number}", {
            "name": f"Sam Taylor {number + 1}", "company": customer.display_name,
            "email": f"sam.taylor{number + 1}@{domain}", "country": customer.country, "status": "New",
            "source": "referral", "expected_revenue_minor": (5_000 + 2_500 * number) * 100, "currency": "EUR",
        }))
    async with write_transaction(ctx) as session:
        existing = await _existing_keys(session, Lead)
        for key, values in drafts:
            if key in existing:
                continue
            values = {k: v for k, v in values.items() if v is not None}
            values.update(external_key=key, email_domain=email_domain(values.get("email")),
                          phone_key=phone_key(values.get("phone")))
            await insert_lead(session, values, actor=ACTOR, lead_id=derived_id("lead", key))
            report.add("leads", 1)


async def _seed_deals(ctx: RequestContext, customers: list[HubCustomer], report: DemoReport) -> None:
    stages = [s.name for s in await list_stages(ctx)]
    today = utcnow().date()
    async with write_transaction(ctx) as session:
        existing = await _existing_keys(session, Opportunity)
        owners = dict((await session.execute(
            select(TerritoryMember.territory_id, TerritoryMember.rep_id).where(TerritoryMember.role == "owner")
        )).all())
        from .models import CustomerTerritory

        territory_of = dict((await session.execute(
            select(CustomerTerritory.hub_customer_id, CustomerTerritory.territory_id)
        )).all())
        for number, customer in enumerate(customers[:12]):
            key = f"demo:opportunity:{number}"
            if key in existing:
                continue
            stage = stages[number % len(stages)]
            territory = territory_of.get(customer.id)
            values = {
                "customer_id": customer.id, "name": f"{customer.display_name[:200]} - {('Renewal', 'Expansion', 'New line')[number % 3]}",
                "amount_minor": (8_000 + 3_750 * number) * 100, "currency": "EUR", "stage": stage,
                "close_date": today + dt.timedelta(days=20 * (number % 6) - 30), "owner_id": owners.get(territory),
                "territory_id": territory, "external_key": key,
                "lost_reason": LOST_REASONS[number % len(LOST_REASONS)] if stage == "Closed Lost" else None,
            }
            opportunity = await insert_opportunity(session, values, actor=ACTOR, opportunity_id=derived_id("opportunity", key))
            report.add("opportunities", 1)
            audit = audit_values(ACTOR)
            if number % 2 == 0:
                competitor = COMPETITORS[number // 2 % len(COMPETITORS)]
                outcome = {"Closed Won": "won", "Closed Lost": "lost"}.get(stage, "unknown")
                session.add(CompetitorNote(
                    id=derived_id("competitor_note", key), competitor=competitor,
                    competitor_key=competitor_key(competitor), customer_id=customer.id,
                    opportunity_id=opportunity.id, strengths="Lower list price", weaknesses="Slow support",
                    observed_price_minor=int(opportunity.amount_minor * 0.9), currency="EUR", outcome=outcome,
                    author=ACTOR, external_key=key, **audit,
                ))
                report.add("competitor_notes", 1)
            for offset, (kind, subject, done) in enumerate((
                ("call", "Discovery call", True), ("meeting", "Proposal walkthrough", number % 3 == 0),
                ("task", "Follow up on proposal", False),
            )):
                session.add(Activity(
                    id=derived_id("activity", f"{key}:{offset}"), type=kind, subject=subject,
                    due_at=dt.datetime.combine(today + dt.timedelta(days=offset * 3 - 2 + number), dt.time(9), dt.UTC),
                    done=done, completed_at=utcnow() if done else None, owner_id=opportunity.owner_id,
                    customer_id=customer.id, opportunity_id=opportunity.id, external_key=f"{key}:{offset}", **audit,
                ))
                report.add("activities", 1)


async def seed_demo_crm(
    hub: Hub, *, generator: ErpGenerator | None = None, erp_database_url: str | None = None
) -> DemoReport:
    """Seed the demo CRM (see the module docs); returns how many records of each kind were created."""
    erp = await _erp_rows(generator, erp_database_url)
    ctx = RequestContext.for_hub(hub)
    ctx.actor = ACTOR
    report = DemoReport()
    await _seed_organisation(ctx, erp, report)
    async with hub.db.session() as session:
        customers = list((await session.scalars(
            select(HubCustomer).where(HubCustomer.merged_into.is_(None)).order_by(HubCustomer.id).limit(50)
        )).all())
    await _seed_leads(ctx, customers, report)
    await run_territory_assignment(ctx)
    await _seed_deals(ctx, customers, report)
    return report
