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

import csv
import datetime as dt
import io
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from hub.context import RequestContext
from hub.hub import Hub
from hub.store.models import HubCustomer

from .demo_organisation import ACTOR, DemoReport, erp_rows, existing_keys, seed_organisation
from .duplicates import email_domain, phone_key
from .ids import derived_id
from .models import (
    Activity,
    CompetitorNote,
    Lead,
    Opportunity,
    TerritoryMember,
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
COMPETITORS = ("Contoso", "Fabrikam", "Globex", "Initech")
LOST_REASONS = ("Price", "Chose a competitor", "No budget", "Timing")
#: Leads that match no customer, in several states (read like a CSV: one lead per line).
FRESH_LEADS = """\
name|company|email|country|city|industry|status|rating|revenue|currency
Lena Hoffmann|Brightwater Logistik GmbH|lena@brightwater-logistik.de|DE|Hamburg|Logistics|New|Hot|48000|EUR
Marc Dubois|Atelier Lumiere SARL|marc.dubois@atelier-lumiere.fr|FR|Lyon|Retail|Contacted|Warm|12500|EUR
Olivia Grant|Northgate Foods Ltd|olivia@northgatefoods.co.uk|GB|Leeds|Food & Beverage|Qualified|Hot|90000|GBP
Jonas Berg|Fjordline Energi AB|jonas.berg@gmail.com|SE|Goteborg|Energy|New|Cold||
Ethan Cole|Redwood Analytics Inc|ethan@redwood-analytics.com|US|Denver|IT Services|Unqualified|Cold|30000|USD
"""


async def _seed_leads(ctx: RequestContext, customers: list[HubCustomer], report: DemoReport) -> None:
    drafts: list[tuple[str, dict[str, Any]]] = []
    for number, row in enumerate(csv.DictReader(io.StringIO(FRESH_LEADS), delimiter="|")):
        revenue = row.pop("revenue")
        drafts.append(
            (
                f"demo:lead:{number}",
                {
                    **{k: v or None for k, v in row.items()},
                    "source": "web",
                    "expected_revenue_minor": int(revenue) * 100 if revenue else None,
                    "disqualification_reason": "No budget this year"
                    if row["status"] == "Unqualified"
                    else None,
                },
            )
        )
    drafts.append(
        (
            "demo:lead:strategic",
            {
                "name": "Hanna Vogel",
                "company": "Vogel Maschinenbau AG",
                "email": "hanna.vogel@vogel-maschinenbau.de",
                "country": "DE",
                "city": "Stuttgart",
                "industry": "Mechanical Engineering",
                "status": "Qualified",
                "rating": "Hot",
                "source": "event",
                "annual_revenue_minor": 120_000_000 * 100,
                "expected_revenue_minor": 250_000 * 100,
                "currency": "EUR",
            },
        )
    )
    for number, customer in enumerate(customers[:3]):  # people at existing customers: duplicate hints
        mail = next((w for w in customer.search_text.split() if "@" in w), None)
        domain = email_domain(mail) or "example.com"
        drafts.append(
            (
                f"demo:lead:dup:{number}",
                {
                    "name": f"Sam Taylor {number + 1}",
                    "company": customer.display_name,
                    "email": f"sam.taylor{number + 1}@{domain}",
                    "country": customer.country,
                    "status": "New",
                    "source": "referral",
                    "expected_revenue_minor": (5_000 + 2_500 * number) * 100,
                    "currency": "EUR",
                },
            )
        )
    async with write_transaction(ctx) as session:
        existing = await existing_keys(session, Lead)
        for key, values in drafts:
            if key in existing:
                continue
            values = {k: v for k, v in values.items() if v is not None}
            values.update(
                external_key=key,
                email_domain=email_domain(values.get("email")),
                phone_key=phone_key(values.get("phone")),
            )
            await insert_lead(session, values, actor=ACTOR, lead_id=derived_id("lead", key))
            report.add("leads", 1)


async def _seed_deals(ctx: RequestContext, customers: list[HubCustomer], report: DemoReport) -> None:
    stages = [s.name for s in await list_stages(ctx)]
    today = utcnow().date()
    async with write_transaction(ctx) as session:
        existing = await existing_keys(session, Opportunity)
        owners = dict(
            (
                await session.execute(
                    select(TerritoryMember.territory_id, TerritoryMember.rep_id).where(
                        TerritoryMember.role == "owner"
                    )
                )
            ).all()
        )
        from .models import CustomerTerritory

        territory_of = dict(
            (
                await session.execute(
                    select(CustomerTerritory.hub_customer_id, CustomerTerritory.territory_id)
                )
            ).all()
        )
        for number, customer in enumerate(customers[:12]):
            key = f"demo:opportunity:{number}"
            if key in existing:
                continue
            stage = stages[number % len(stages)]
            territory = territory_of.get(customer.id)
            values = {
                "customer_id": customer.id,
                "name": f"{customer.display_name[:200]} - {('Renewal', 'Expansion', 'New line')[number % 3]}",
                "amount_minor": (8_000 + 3_750 * number) * 100,
                "currency": "EUR",
                "stage": stage,
                "close_date": today + dt.timedelta(days=20 * (number % 6) - 30),
                "owner_id": owners.get(territory) if territory else None,
                "territory_id": territory,
                "external_key": key,
                "lost_reason": LOST_REASONS[number % len(LOST_REASONS)] if stage == "Closed Lost" else None,
            }
            opportunity = await insert_opportunity(
                session, values, actor=ACTOR, opportunity_id=derived_id("opportunity", key)
            )
            await session.flush()  # notes and activities below refer to it
            report.add("opportunities", 1)
            audit = audit_values(ACTOR)
            if number % 2 == 0:
                competitor = COMPETITORS[number // 2 % len(COMPETITORS)]
                outcome = {"Closed Won": "won", "Closed Lost": "lost"}.get(stage, "unknown")
                session.add(
                    CompetitorNote(
                        id=derived_id("competitor_note", key),
                        competitor=competitor,
                        competitor_key=competitor_key(competitor),
                        customer_id=customer.id,
                        opportunity_id=opportunity.id,
                        strengths="Lower list price",
                        weaknesses="Slow support",
                        observed_price_minor=int(opportunity.amount_minor * 0.9),
                        currency="EUR",
                        outcome=outcome,
                        author=ACTOR,
                        external_key=key,
                        **audit,
                    )
                )
                report.add("competitor_notes", 1)
            for offset, (kind, subject, done) in enumerate(
                (
                    ("call", "Discovery call", True),
                    ("meeting", "Proposal walkthrough", number % 3 == 0),
                    ("task", "Follow up on proposal", False),
                )
            ):
                session.add(
                    Activity(
                        id=derived_id("activity", f"{key}:{offset}"),
                        type=kind,
                        subject=subject,
                        due_at=dt.datetime.combine(
                            today + dt.timedelta(days=offset * 3 - 2 + number), dt.time(9), dt.UTC
                        ),
                        done=done,
                        completed_at=utcnow() if done else None,
                        owner_id=opportunity.owner_id,
                        customer_id=customer.id,
                        opportunity_id=opportunity.id,
                        external_key=f"{key}:{offset}",
                        **audit,
                    )
                )
                report.add("activities", 1)


async def seed_demo_crm(
    hub: Hub, *, generator: ErpGenerator | None = None, erp_database_url: str | None = None
) -> DemoReport:
    """Seed the demo CRM (see the module docs); returns how many records of each kind were created."""
    erp = await erp_rows(generator, erp_database_url)
    ctx = RequestContext.for_hub(hub)
    ctx.actor = ACTOR
    report = DemoReport()
    await seed_organisation(ctx, erp, report)
    async with hub.db.session() as session:
        customers = list(
            (
                await session.scalars(
                    select(HubCustomer)
                    .where(HubCustomer.merged_into.is_(None))
                    .order_by(HubCustomer.id)
                    .limit(50)
                )
            ).all()
        )
    await _seed_leads(ctx, customers, report)
    await run_territory_assignment(ctx)
    await _seed_deals(ctx, customers, report)
    return report
