"""Territories: a hierarchy (no cycles), assignment rules, members with roles, and manual assignments of
customers that override the rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import RequestContext

from ..errors import DuplicateError, NotFoundError, StaleVersionError, TerritoryCycleError, ValidationError
from ..ids import new_id
from ..models import CustomerTerritory, SalesRep, Territory, TerritoryMember, TerritoryRule
from ..rules import clean_conditions, combine
from ..validation import Field, boolean, choice, clean_fields, integer, reference, text
from ..versioning import (
    audit_values,
    check_version,
    guarded_delete,
    guarded_update,
    update_and_reload,
    write_transaction,
)
from .common import dialect_name, require_territory, resolve_customer

TERRITORY_TYPES = ("region", "country", "state", "city", "named_accounts", "other")
MEMBER_ROLES = ("owner", "rep")
MAX_DEPTH = 20
DEFAULT_PRIORITY = 100
#: Serialises changes of the hierarchy on PostgreSQL, so two concurrent moves cannot build a cycle.
_TREE_LOCK = 0x63726D74  # "crmt"

TERRITORY_FIELDS = {
    "name": Field(text(200), required=True),
    "type": Field(choice(TERRITORY_TYPES), required=True),
    "parent_id": Field(reference),
    "description": Field(text(2000, multiline=True)),
}
RULE_FIELDS = {
    "name": Field(text(200), required=True),
    "priority": Field(integer(0, 1_000_000)),
    "active": Field(boolean),
    "logic": Field(choice(("AND", "OR"))),
    "expression": Field(text(500)),
    "conditions": Field(lambda value, _field: value, required=True),
}


@dataclass
class TerritoryNode:
    territory: Territory
    depth: int
    children: list[TerritoryNode] = field(default_factory=list)


async def _lock_tree(session: AsyncSession) -> None:
    if dialect_name(session) == "postgresql":
        await session.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": _TREE_LOCK})


async def _check_name_free(session: AsyncSession, name: str | None, territory_id: str | None = None) -> None:
    if name is None:
        return
    taken = await session.scalar(select(Territory.id).where(Territory.name == name))
    if taken is not None and taken != territory_id:
        raise DuplicateError(f"a territory named {name!r} already exists", field="name")


async def _check_acyclic(session: AsyncSession, territory_id: str, parent_id: str | None) -> None:
    """Walk up from the new parent: meeting the territory itself means the move would build a cycle."""
    parents = dict((await session.execute(select(Territory.id, Territory.parent_id))).all())
    current, depth = parent_id, 1
    while current is not None:
        if current == territory_id:
            raise TerritoryCycleError("a territory cannot be placed below itself or its own descendants")
        current, depth = parents.get(current), depth + 1
        if depth > MAX_DEPTH:
            raise ValidationError(f"territories nest at most {MAX_DEPTH} levels deep", field="parent_id")


async def create_territory(ctx: RequestContext, *, fields: Mapping[str, Any]) -> Territory:
    values = clean_fields(fields, TERRITORY_FIELDS, creating=True)
    async with write_transaction(ctx) as session:
        await _lock_tree(session)
        await _check_name_free(session, values["name"])
        await require_territory(session, values.get("parent_id"), field="parent_id")
        territory = Territory(id=new_id("territory"), **values, **audit_values(ctx.actor))
        await _check_acyclic(session, territory.id, values.get("parent_id"))  # depth limit only
        session.add(territory)
    return territory


async def update_territory(
    ctx: RequestContext, *, territory_id: str, version: int, changes: Mapping[str, Any]
) -> Territory:
    values = clean_fields(changes, TERRITORY_FIELDS, creating=False)
    for required in ("name", "type"):
        if required in values and values[required] is None:
            raise ValidationError(f"{required} cannot be empty", field=required)
    async with write_transaction(ctx) as session:
        await _lock_tree(session)
        if "parent_id" in values:
            await require_territory(session, values["parent_id"], field="parent_id")
        await guarded_update(
            session,
            Territory,
            key=Territory.id,
            record_id=territory_id,
            version=version,
            values=values,
            actor=ctx.actor,
            what="territory",
        )
        await _check_name_free(session, values.get("name"), territory_id)
        if "parent_id" in values:
            await _check_acyclic(session, territory_id, values["parent_id"])
    found = await get_territory(ctx, territory_id=territory_id)
    assert found is not None
    return found


async def get_territory(ctx: RequestContext, *, territory_id: str) -> Territory | None:
    async with ctx.hub.db.session() as session:
        return await session.get(Territory, territory_id)


async def list_territories(ctx: RequestContext) -> list[Territory]:
    async with ctx.hub.db.session() as session:
        return list((await session.scalars(select(Territory).order_by(Territory.name))).all())


def build_tree(territories: list[Territory]) -> list[TerritoryNode]:
    children: dict[str | None, list[Territory]] = {}
    for territory in territories:
        children.setdefault(territory.parent_id, []).append(territory)

    def node(territory: Territory, depth: int) -> TerritoryNode:
        below = sorted(children.get(territory.id, []), key=lambda t: t.name)
        return TerritoryNode(territory, depth, [node(child, depth + 1) for child in below])

    # A territory whose parent is not in the list (out of the caller's scope) is a root of what they see.
    known = {t.id for t in territories}
    roots = [t for t in territories if t.parent_id is None or t.parent_id not in known]
    return [node(root, 0) for root in sorted(roots, key=lambda t: t.name)]


async def territory_tree(ctx: RequestContext) -> list[TerritoryNode]:
    """Every territory, as a forest of roots with their descendants, each level sorted by name."""
    return build_tree(await list_territories(ctx))


# -- members ----------------------------------------------------------------------------------------


async def add_territory_member(
    ctx: RequestContext, *, territory_id: str, rep_id: str, role: str
) -> TerritoryMember:
    clean_role = choice(MEMBER_ROLES)(role, "role")
    if clean_role is None:
        raise ValidationError("role is required", field="role")
    async with write_transaction(ctx) as session:
        await require_territory(session, territory_id)
        if await session.scalar(select(SalesRep.id).where(SalesRep.id == rep_id)) is None:
            raise NotFoundError(f"no sales rep with id {rep_id!r}", field="rep_id")
        existing = await session.scalar(
            select(TerritoryMember.id).where(
                TerritoryMember.territory_id == territory_id, TerritoryMember.rep_id == rep_id
            )
        )
        if existing is not None:
            raise DuplicateError("this rep is already a member of the territory", field="rep_id")
        member = TerritoryMember(
            id=new_id("member"),
            territory_id=territory_id,
            rep_id=rep_id,
            role=clean_role,
            **audit_values(ctx.actor),
        )
        session.add(member)
    return member


async def update_territory_member(
    ctx: RequestContext, *, member_id: str, version: int, role: str
) -> TerritoryMember:
    clean_role = choice(MEMBER_ROLES)(role, "role")
    if clean_role is None:
        raise ValidationError("role is required", field="role")
    async with write_transaction(ctx) as session:
        return await update_and_reload(
            session,
            TerritoryMember,
            record_id=member_id,
            version=version,
            values={"role": clean_role},
            actor=ctx.actor,
            what="territory member",
        )


async def remove_territory_member(ctx: RequestContext, *, member_id: str, version: int) -> None:
    async with write_transaction(ctx) as session:
        await guarded_delete(
            session,
            TerritoryMember,
            record_id=member_id,
            version=version,
            what="territory member",
            short="member",
        )


# -- rules ------------------------------------------------------------------------------------------


def _clean_rule(values: dict[str, Any], *, current: TerritoryRule | None = None) -> dict[str, Any]:
    """Normalise rule input; the expression is checked against the conditions it will run with."""
    if "conditions" in values:
        values["conditions"] = [c.as_json() for c in clean_conditions(values["conditions"])]
    if "name" in values and values["name"] is None:
        raise ValidationError("name cannot be empty", field="name")
    for keep_when_null in ("logic", "active"):
        if keep_when_null in values and values[keep_when_null] is None:
            del values[keep_when_null]
    if "priority" in values and values["priority"] is None:
        values["priority"] = DEFAULT_PRIORITY
    conditions = values.get("conditions", current.conditions if current else [])
    expression = values.get("expression", current.expression if current else None)
    combine(values.get("logic", "AND"), expression, len(conditions))  # raises on a bad expression
    return values


async def create_territory_rule(
    ctx: RequestContext, *, territory_id: str, fields: Mapping[str, Any]
) -> TerritoryRule:
    values = _clean_rule(clean_fields(fields, RULE_FIELDS, creating=True))
    async with write_transaction(ctx) as session:
        await require_territory(session, territory_id)
        rule = TerritoryRule(
            id=new_id("rule"),
            territory_id=territory_id,
            **{"priority": DEFAULT_PRIORITY, "active": True, "logic": "AND", **values},
            **audit_values(ctx.actor),
        )
        session.add(rule)
    return rule


async def update_territory_rule(
    ctx: RequestContext, *, rule_id: str, version: int, changes: Mapping[str, Any]
) -> TerritoryRule:
    values = clean_fields(changes, RULE_FIELDS, creating=False)
    async with write_transaction(ctx) as session:
        current = await session.get(TerritoryRule, rule_id)
        if current is None:
            raise NotFoundError(f"no territory rule with id {rule_id!r}")
        return await update_and_reload(
            session,
            TerritoryRule,
            record_id=rule_id,
            version=version,
            values=_clean_rule(values, current=current),
            actor=ctx.actor,
            what="territory rule",
        )


async def delete_territory_rule(ctx: RequestContext, *, rule_id: str, version: int) -> None:
    async with write_transaction(ctx) as session:
        await guarded_delete(
            session, TerritoryRule, record_id=rule_id, version=version, what="territory rule", short="rule"
        )


async def territory_rules(ctx: RequestContext, *, territory_id: str | None = None) -> list[TerritoryRule]:
    statement = select(TerritoryRule).order_by(TerritoryRule.priority, TerritoryRule.name, TerritoryRule.id)
    if territory_id is not None:
        statement = statement.where(TerritoryRule.territory_id == territory_id)
    async with ctx.hub.db.session() as session:
        return list((await session.scalars(statement)).all())


# -- manual assignment of customers -----------------------------------------------------------------


async def assign_customer_territory(
    ctx: RequestContext, *, customer_id: str, territory_id: str | None, version: int | None = None
) -> CustomerTerritory | None:
    """Pin a customer to a territory by hand (rules will not move it), or with ``None`` release it to the
    rules again. ``version`` is the assignment's version you read, or ``None`` if it had none."""
    async with write_transaction(ctx) as session:
        resolved = await resolve_customer(session, customer_id)
        assert resolved is not None
        await require_territory(session, territory_id)
        if version is None:
            if territory_id is None:
                raise ValidationError("territoryId is required to assign a territory", field="territory_id")
            exists = await session.scalar(
                select(CustomerTerritory.version).where(CustomerTerritory.hub_customer_id == resolved)
            )
            if exists is not None:
                raise StaleVersionError(
                    f"the customer already has a territory assignment (version {exists}); pass that version",
                    current_version=exists,
                )
            session.add(
                CustomerTerritory(
                    hub_customer_id=resolved,
                    territory_id=territory_id,
                    manual=True,
                    rule_id=None,
                    **audit_values(ctx.actor),
                )
            )
            await session.flush()
        elif territory_id is None:
            check_version(version)
            result = await session.execute(
                delete(CustomerTerritory).where(
                    CustomerTerritory.hub_customer_id == resolved, CustomerTerritory.version == version
                )
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise StaleVersionError("the customer's territory assignment was changed; read it again")
            return None
        else:
            await guarded_update(
                session,
                CustomerTerritory,
                key=CustomerTerritory.hub_customer_id,
                record_id=resolved,
                version=version,
                values={"territory_id": territory_id, "manual": True, "rule_id": None},
                actor=ctx.actor,
                what="customer territory assignment",
            )
        row = await session.get(CustomerTerritory, resolved, populate_existing=True)
    return row


async def customer_territory(ctx: RequestContext, *, customer_id: str) -> CustomerTerritory | None:
    async with ctx.hub.db.session() as session:
        return await session.get(CustomerTerritory, customer_id)
