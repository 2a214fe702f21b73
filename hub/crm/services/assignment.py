"""``runTerritoryAssignment``: every hub customer and every open lead gets the territory of the first
matching rule. Manual assignments are kept; records no rule matches lose a rule-made assignment. Leads
without an owner get the owner of their new territory."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import RequestContext
from hub.store.models import HubCustomer

from ..attributes import customer_attributes, lead_attributes
from ..models import CustomerTerritory, Lead, SalesRep, Territory, TerritoryMember, TerritoryRule
from ..rules import CompiledRule, Condition, combine, first_match, order_rules
from ..types import utcnow
from ..versioning import write_transaction
from .common import dialect_name

CHUNK = 500


@dataclass
class AssignmentCounts:
    assigned: int = 0  # by a rule, after this run
    changed: int = 0  # assignments this run created, moved or removed
    unassigned: int = 0  # no rule matched (and nothing manual)
    manual_kept: int = 0


@dataclass(frozen=True, slots=True)
class TerritoryTally:
    territory_id: str
    name: str
    customers: int
    leads: int


@dataclass
class AssignmentReport:
    customers: AssignmentCounts = field(default_factory=AssignmentCounts)
    leads: AssignmentCounts = field(default_factory=AssignmentCounts)
    lead_owners_set: int = 0
    per_territory: list[TerritoryTally] = field(default_factory=list)
    seconds: float = 0.0


async def compiled_rules(session: AsyncSession) -> list[CompiledRule]:
    parents = dict((await session.execute(select(Territory.id, Territory.parent_id))).all())

    def depth(territory_id: str) -> int:
        level, current = 0, parents.get(territory_id)
        while current is not None and level < 50:
            level, current = level + 1, parents.get(current)
        return level

    rules = await session.scalars(select(TerritoryRule).where(TerritoryRule.active.is_(True)))
    compiled = []
    for rule in rules:
        conditions = tuple(Condition.from_json(c) for c in rule.conditions)
        compiled.append(
            CompiledRule(
                id=rule.id,
                territory_id=rule.territory_id,
                priority=rule.priority,
                depth=depth(rule.territory_id),
                name=rule.name,
                conditions=conditions,
                predicate=combine(rule.logic, rule.expression, len(conditions)),
            )
        )
    return order_rules(compiled)


def _insert(dialect: str) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CustomerTerritory)


async def _assign_customers(ctx: RequestContext, rules: list[CompiledRule], report: AssignmentReport) -> None:
    counts = report.customers
    last_id = ""
    while True:
        async with ctx.hub.db.session() as session:
            customers = list(
                await session.scalars(
                    select(HubCustomer)
                    .where(HubCustomer.merged_into.is_(None), HubCustomer.id > last_id)
                    .order_by(HubCustomer.id)
                    .limit(CHUNK)
                )
            )
            if not customers:
                return
            ids = [c.id for c in customers]
            current = {
                row.hub_customer_id: row
                for row in await session.scalars(
                    select(CustomerTerritory).where(CustomerTerritory.hub_customer_id.in_(ids))
                )
            }
        last_id = ids[-1]
        pending = [c for c in customers if not (c.id in current and current[c.id].manual)]
        counts.manual_kept += len(customers) - len(pending)
        attributes = await customer_attributes(ctx, pending) if pending else {}
        inserts, moves, removals = [], [], []
        for customer in pending:
            rule = first_match(rules, attributes[customer.id])
            existing = current.get(customer.id)
            if rule is None:
                counts.unassigned += 1
                if existing is not None:
                    removals.append(customer.id)
                continue
            counts.assigned += 1
            if existing is None:
                inserts.append(
                    {"hub_customer_id": customer.id, "territory_id": rule.territory_id, "rule_id": rule.id}
                )
            elif (existing.territory_id, existing.rule_id) != (rule.territory_id, rule.id):
                moves.append({"b_id": customer.id, "b_territory": rule.territory_id, "b_rule": rule.id})
        counts.changed += len(inserts) + len(moves) + len(removals)
        await _write_customer_changes(ctx, inserts, moves, removals)


async def _write_customer_changes(
    ctx: RequestContext, inserts: list[dict[str, Any]], moves: list[dict[str, Any]], removals: list[str]
) -> None:
    if not (inserts or moves or removals):
        return
    now, actor = utcnow(), ctx.actor
    async with write_transaction(ctx) as session:
        if inserts:
            audit = {
                "manual": False,
                "created_at": now,
                "updated_at": now,
                "created_by": actor,
                "updated_by": actor,
                "version": 1,
            }
            statement = _insert(dialect_name(session)).values([{**row, **audit} for row in inserts])
            # A manual assignment made meanwhile wins over the rule.
            await session.execute(statement.on_conflict_do_nothing(index_elements=["hub_customer_id"]))
        if moves:
            table = cast(Table, CustomerTerritory.__table__)
            connection = await session.connection()
            await connection.execute(  # Core executemany: one statement for the whole chunk
                update(table)
                .where(table.c.hub_customer_id == bindparam("b_id"), table.c.manual.is_(False))
                .values(
                    territory_id=bindparam("b_territory"),
                    rule_id=bindparam("b_rule"),
                    version=table.c.version + 1,
                    updated_at=now,
                    updated_by=actor,
                ),
                moves,
            )
        if removals:
            await session.execute(
                delete(CustomerTerritory).where(
                    CustomerTerritory.hub_customer_id.in_(removals), CustomerTerritory.manual.is_(False)
                )
            )


async def _territory_owners(session: AsyncSession) -> dict[str, str]:
    """Each territory's owner (its first active member with role owner)."""
    rows = await session.execute(
        select(TerritoryMember.territory_id, TerritoryMember.rep_id)
        .join(SalesRep, SalesRep.id == TerritoryMember.rep_id)
        .where(TerritoryMember.role == "owner", SalesRep.active.is_(True))
        .order_by(TerritoryMember.territory_id, TerritoryMember.created_at, TerritoryMember.id)
    )
    owners: dict[str, str] = {}
    for territory_id, rep_id in rows:
        owners.setdefault(territory_id, rep_id)
    return owners


async def _assign_leads(ctx: RequestContext, rules: list[CompiledRule], report: AssignmentReport) -> None:
    counts = report.leads
    async with ctx.hub.db.session() as session:
        owners = await _territory_owners(session)
    last_id = ""
    while True:
        async with ctx.hub.db.session() as session:
            leads = list(
                await session.scalars(
                    select(Lead)
                    .where(Lead.status != "Converted", Lead.id > last_id)
                    .order_by(Lead.id)
                    .limit(CHUNK)
                )
            )
        if not leads:
            return
        last_id = leads[-1].id
        changes = []
        for lead in leads:
            if lead.territory_manual:
                counts.manual_kept += 1
                continue
            rule = first_match(rules, lead_attributes(lead))
            territory_id = rule.territory_id if rule else None
            counts.assigned += rule is not None
            counts.unassigned += rule is None
            owner = lead.owner_id or (owners.get(territory_id) if territory_id else None)
            if territory_id != lead.territory_id or owner != lead.owner_id:
                counts.changed += territory_id != lead.territory_id
                report.lead_owners_set += owner != lead.owner_id
                changes.append(
                    {
                        "b_id": lead.id,
                        "b_territory": territory_id,
                        "b_owner": owner,
                        "b_version": lead.version,
                    }
                )
        if changes:
            async with write_transaction(ctx) as session:
                # Guarded like any update: a lead edited since it was read keeps the edit.
                table = cast(Table, Lead.__table__)
                connection = await session.connection()
                await connection.execute(
                    update(table)
                    .where(
                        table.c.id == bindparam("b_id"),
                        table.c.version == bindparam("b_version"),
                        table.c.territory_manual.is_(False),
                    )
                    .values(
                        territory_id=bindparam("b_territory"),
                        owner_id=bindparam("b_owner"),
                        version=table.c.version + 1,
                        updated_at=utcnow(),
                        updated_by=ctx.actor,
                    ),
                    changes,
                )


async def _tally(ctx: RequestContext) -> list[TerritoryTally]:
    async with ctx.hub.db.session() as session:
        names = dict((await session.execute(select(Territory.id, Territory.name))).all())
        customers = Counter(
            dict(
                (
                    await session.execute(
                        select(CustomerTerritory.territory_id, func.count()).group_by(
                            CustomerTerritory.territory_id
                        )
                    )
                ).all()
            )
        )
        leads = Counter(
            dict(
                (
                    await session.execute(
                        select(Lead.territory_id, func.count())
                        .where(Lead.territory_id.is_not(None), Lead.status != "Converted")
                        .group_by(Lead.territory_id)
                    )
                ).all()
            )
        )
    counted = {tid for tid in (*customers, *leads) if tid is not None and tid in names}
    return [
        TerritoryTally(tid, names[tid], customers[tid], leads[tid])
        for tid in sorted(counted, key=lambda t: names[t])
    ]


async def run_territory_assignment(ctx: RequestContext) -> AssignmentReport:
    started = time.perf_counter()
    report = AssignmentReport()
    async with ctx.hub.db.session() as session:
        rules = await compiled_rules(session)
    await _assign_customers(ctx, rules, report)
    await _assign_leads(ctx, rules, report)
    report.per_territory = await _tally(ctx)
    report.seconds = time.perf_counter() - started
    return report
