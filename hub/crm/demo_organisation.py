"""The demo's sales organisation, taken from the ERP silo: regions > countries > states as territories
with rules by country and region (plus a named-accounts territory for big leads), employees as sales reps,
and territory members from the ERP's employee territories (the first rep of a territory owns it, the
regional sales director owns the region)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from hub.context import RequestContext

from .ids import derived_id
from .models import SalesRep, Territory, TerritoryMember, TerritoryRule
from .versioning import audit_values, write_transaction

if TYPE_CHECKING:
    from silos.erp.generator import ErpGenerator

Row = dict[str, Any]
ACTOR = "demo"
ERP_TABLES = ("regions", "territories", "employees", "employee_territories")
STRATEGIC_KEY = "demo:territory:strategic"
STRATEGIC_REVENUE = "50000000"


@dataclass
class DemoReport:
    """How many records of each kind a seeding run created (all zero on a second run)."""

    created: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int) -> None:
        self.created[kind] = self.created.get(kind, 0) + count


async def erp_rows(generator: ErpGenerator | None, erp_database_url: str | None) -> dict[str, list[Row]]:
    """The ERP's organisation tables, from the generator or from the database it was written to."""
    if (generator is None) == (erp_database_url is None):
        raise ValueError("pass exactly one of generator or erp_database_url")
    if generator is not None:
        return {table: list(generator.rows(table)) for table in ERP_TABLES}
    engine = create_async_engine(str(erp_database_url))
    try:
        async with engine.connect() as conn:
            return {
                table: [dict(row._mapping) for row in await conn.execute(text(f"SELECT * FROM {table}"))]
                for table in ERP_TABLES
            }
    finally:
        await engine.dispose()


async def existing_keys(session: AsyncSession, model: Any) -> set[str]:
    rows = await session.scalars(select(model.external_key).where(model.external_key.is_not(None)))
    return set(rows.all())


def _new(rows: Iterable[Any], existing: set[str]) -> list[Any]:
    return [row for row in rows if row.external_key not in existing]


def _equals(field_name: str, *values: str) -> dict[str, Any]:
    return {"field": field_name, "operator": "equals", "values": list(values), "min": None, "max": None}


def _territory(key: str, name: str, kind: str, parent_key: str | None) -> Territory:
    return Territory(
        id=derived_id("territory", key),
        name=name,
        type=kind,
        parent_id=derived_id("territory", parent_key) if parent_key else None,
        external_key=key,
        **audit_values(ACTOR),
    )


def _rule(
    key: str,
    name: str,
    conditions: list[dict[str, Any]],
    *,
    expression: str | None = None,
    priority: int = 100,
) -> TerritoryRule:
    return TerritoryRule(
        id=derived_id("rule", key),
        territory_id=derived_id("territory", key),
        name=name,
        priority=priority,
        active=True,
        logic="AND",
        expression=expression,
        conditions=conditions,
        external_key=key,
        **audit_values(ACTOR),
    )


def _member(territory_key: str, employee_id: int, role: str) -> TerritoryMember:
    return TerritoryMember(
        id=derived_id("member", f"{territory_key}:{employee_id}"),
        territory_id=derived_id("territory", territory_key),
        rep_id=derived_id("rep", f"erp:employee:{employee_id}"),
        role=role,
        **audit_values(ACTOR),
    )


def build_organisation(
    erp: dict[str, list[Row]],
) -> tuple[list[SalesRep], list[Territory], list[TerritoryRule], list[TerritoryMember]]:
    """Reps, territories (parents before children), rules and members, with derived ids."""
    reps = [
        SalesRep(
            id=derived_id("rep", f"erp:employee:{e['id']}"),
            name=f"{e['first_name']} {e['last_name']}",
            email=e["email"].lower(),
            active=bool(e["active"]),
            external_key=f"erp:employee:{e['id']}",
            **audit_values(ACTOR),
        )
        for e in erp["employees"]
    ]
    territories, rules, members = [], [], []
    regions = {row["id"]: row for row in erp["regions"]}
    for region in regions.values():
        key = f"erp:region:{region['code']}"
        countries = sorted(
            t["country"]
            for t in erp["territories"]
            if t["region_id"] == region["id"] and t["parent_id"] is None
        )
        territories.append(_territory(key, region["name"], "region", None))
        rules.append(_rule(key, f"{region['name']} countries", [_equals("country", *countries)]))
        title = f"Sales Director {region['name']}"
        director = next((e for e in erp["employees"] if e["title"] == title), None)
        if director is not None:
            members.append(_member(key, director["id"], "owner"))
    by_erp_id = {t["id"]: t for t in erp["territories"]}
    for row in erp["territories"]:  # countries come before their states in the ERP's order
        key = f"erp:territory:{row['code']}"
        if row["parent_id"] is None:
            parent_key = f"erp:region:{regions[row['region_id']]['code']}"
            territories.append(_territory(key, row["name"], "country", parent_key))
            rules.append(_rule(key, f"{row['name']} by country", [_equals("country", row["country"])]))
            continue
        name = f"{row['name']} ({row['country']})"
        parent_key = f"erp:territory:{by_erp_id[row['parent_id']]['code']}"
        territories.append(_territory(key, name, "state", parent_key))
        conditions = [
            _equals("region", row["name"], row["code"]),
            _equals("territory_code", row["code"], str(row["id"])),
            _equals("country", row["country"]),
        ]
        rules.append(_rule(key, f"{name} by region", conditions, expression="(1 OR 2) AND 3"))
    # Big leads go to named accounts first: a lower priority number beats any geography.
    territories.append(_territory(STRATEGIC_KEY, "Strategic Accounts", "named_accounts", None))
    revenue: dict[str, Any] = {
        "field": "annual_revenue",
        "operator": "between",
        "values": [],
        "min": STRATEGIC_REVENUE,
        "max": None,
    }
    rules.append(_rule(STRATEGIC_KEY, "Annual revenue from 50M", [revenue], priority=10))
    covered: dict[int, int] = {}
    for link in erp["employee_territories"]:
        covered[link["territory_id"]] = covered.get(link["territory_id"], 0) + 1
        territory_key = f"erp:territory:{by_erp_id[link['territory_id']]['code']}"
        role = "owner" if covered[link["territory_id"]] == 1 else "rep"
        members.append(_member(territory_key, link["employee_id"], role))
    return reps, territories, rules, members


async def seed_organisation(ctx: RequestContext, erp: dict[str, list[Row]], report: DemoReport) -> None:
    reps, territories, rules, members = build_organisation(erp)
    async with write_transaction(ctx) as session:
        new_reps = _new(reps, await existing_keys(session, SalesRep))
        session.add_all(new_reps)
        new_territories = _new(territories, await existing_keys(session, Territory))
        for territory in new_territories:
            session.add(territory)
            await session.flush()  # one by one: a child's parent must exist first
        new_rules = _new(rules, await existing_keys(session, TerritoryRule))
        session.add_all(new_rules)
        known_members = set((await session.scalars(select(TerritoryMember.id))).all())
        new_members = [m for m in members if m.id not in known_members]
        session.add_all(new_members)
    report.add("sales_reps", len(new_reps))
    report.add("territories", len(new_territories))
    report.add("territory_rules", len(new_rules))
    report.add("territory_members", len(new_members))
