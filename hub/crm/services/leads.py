"""Leads: create (with duplicate hints), update, assign, qualify, disqualify, read and list.

Conversion lives in ``conversion``, CSV import in ``lead_import``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import RequestContext
from hub.identity.normalize import search_text
from hub.pagination import Page
from hub.store.search import search_condition

from ..duplicates import DuplicateHint, email_domain, find_duplicate_hints, phone_key
from ..errors import InvalidStateError, ValidationError
from ..events import record_event
from ..ids import new_id
from ..models import Lead, SalesRep, Territory
from ..validation import Field, choice, clean_fields, country, currency, email, money, phone, reference, text
from ..versioning import audit_values, update_and_reload, write_transaction
from .common import (
    SortKey,
    keyset_page,
    require_rep,
    require_territory,
    territory_subtree,
    timestamp_key,
)

LEAD_SOURCES = ("web", "campaign", "referral", "import", "event", "partner", "cold_call", "other")
LEAD_STATUSES = ("New", "Contacted", "Qualified", "Unqualified", "Converted")
OPEN_STATUSES = ("New", "Contacted")
LEAD_RATINGS = ("Hot", "Warm", "Cold")

LEAD_FIELDS: dict[str, Field] = {
    "name": Field(text(200), required=True),
    "company": Field(text(300)),
    "title": Field(text(200)),
    "email": Field(email),
    "phone": Field(phone),
    "website": Field(text(300)),
    "source": Field(choice(LEAD_SOURCES)),
    "status": Field(choice(OPEN_STATUSES)),
    "rating": Field(choice(LEAD_RATINGS)),
    "expected_revenue": Field(money, column="expected_revenue_minor"),
    "annual_revenue": Field(money, column="annual_revenue_minor"),
    "currency": Field(currency),
    "street": Field(text(300)),
    "city": Field(text(100)),
    "postal_code": Field(text(20)),
    "region": Field(text(100)),
    "country": Field(country),
    "industry": Field(text(100)),
    "description": Field(text(5000, multiline=True)),
}
#: Creating may also set the owner and territory; later changes go through ``assign_lead``.
CREATE_FIELDS: dict[str, Field] = {
    **LEAD_FIELDS,
    "owner_id": Field(reference),
    "territory_id": Field(reference),
}

_NOT_CONVERTED = (Lead.status != "Converted",)
_CONVERTED_READ_ONLY = InvalidStateError("a converted lead is read-only")


@dataclass(frozen=True, slots=True)
class LeadResult:
    lead: Lead
    duplicates: list[DuplicateHint]


def _derived(values: dict[str, Any]) -> dict[str, Any]:
    """Columns kept in step with the values they are derived from, for indexed duplicate lookups."""
    derived = {}
    if "email" in values:
        derived["email_domain"] = email_domain(values["email"])
    if "phone" in values:
        derived["phone_key"] = phone_key(values["phone"])
    return derived


#: The fields lead search looks in.
SEARCHED_FIELDS = ("name", "company", "email")


def _getter(lead: Lead | Mapping[str, Any]) -> Callable[[str], Any]:
    """Field values of a lead, or of the values a lead is about to be written with."""
    return lead.get if isinstance(lead, Mapping) else lambda name: getattr(lead, name, None)


def lead_search_text(lead: Lead | Mapping[str, Any]) -> str:
    get = _getter(lead)
    return search_text(get(name) for name in SEARCHED_FIELDS)


def _check_money_currency(lead: Lead | Mapping[str, Any]) -> None:
    get = _getter(lead)
    has_money = get("expected_revenue_minor") is not None or get("annual_revenue_minor") is not None
    if has_money and get("currency") is None:
        raise ValidationError("currency is required with expected or annual revenue", field="currency")


def clean_new_lead(fields: Mapping[str, Any]) -> dict[str, Any]:
    values = clean_fields(fields, CREATE_FIELDS, creating=True)
    values["source"] = values.get("source") or "other"
    values["status"] = values.get("status") or "New"
    _check_money_currency(values)
    return {**values, **_derived(values)}


async def insert_lead(
    session: AsyncSession, values: dict[str, Any], *, actor: str, lead_id: str | None = None
) -> Lead:
    """Add an already cleaned lead and its ``lead.created`` event to the session."""
    await require_rep(session, values.get("owner_id"), field="owner_id")
    await require_territory(session, values.get("territory_id"), field="territory_id")
    lead = Lead(
        id=lead_id or new_id("lead"),
        territory_manual=values.get("territory_id") is not None,
        search_text=lead_search_text(values),
        **values,
        **audit_values(actor),
    )
    session.add(lead)
    title = f"Lead {lead.name}" + (f" ({lead.company})" if lead.company else "") + " created"
    record_event(
        session,
        kind="lead.created",
        subject_type="lead",
        subject_id=lead.id,
        title=title,
        actor=actor,
        amount_minor=lead.expected_revenue_minor,
        currency=lead.currency,
        data={"source": lead.source},
    )
    return lead


async def create_lead(ctx: RequestContext, *, fields: Mapping[str, Any]) -> LeadResult:
    values = clean_new_lead(fields)
    async with write_transaction(ctx) as session:
        if values.get("territory_id") is None and not ctx.access.unrestricted:
            values["territory_id"] = await _home_territory(session, ctx.access.territory_ids or frozenset())
        if values.get("owner_id") is None and ctx.principal.rep_id is not None:
            # A rep's own lead is theirs to follow up (when the rep their credential names exists).
            rep = await session.get(SalesRep, ctx.principal.rep_id)
            values["owner_id"] = rep.id if rep is not None and rep.active else None
        duplicates = await find_duplicate_hints(
            session, email=values.get("email"), company=values.get("company"), phone=values.get("phone")
        )
        lead = await insert_lead(session, values, actor=ctx.actor)
    return LeadResult(lead, duplicates)


async def _home_territory(session: AsyncSession, visible: frozenset[str]) -> str:
    """The territory a territory-bound user's new lead goes to when they name none: a lead outside their
    territories would vanish from their own lists the moment it is saved. Only one top territory of theirs
    makes the choice obvious; otherwise they must choose."""
    rows = (
        await session.execute(select(Territory.id, Territory.parent_id).where(Territory.id.in_(visible)))
    ).all()
    tops = sorted(territory_id for territory_id, parent_id in rows if parent_id not in visible)
    if len(tops) == 1:
        return tops[0]
    if not tops:
        raise ValidationError(
            "you belong to no territory, so a lead you create would not be visible to you; "
            "ask a sales manager to add you to one",
            field="territory_id",
        )
    raise ValidationError(
        f"name the territory of the new lead (territoryId): {', '.join(tops)} or a territory below one",
        field="territory_id",
    )


async def _update_unconverted(session: AsyncSession, *, lead_id: str, **update: Any) -> Lead:
    """``update_and_reload`` of a lead that is not converted yet (a converted one is read-only)."""
    guard = {"only_if": _NOT_CONVERTED, "otherwise": _CONVERTED_READ_ONLY}
    return await update_and_reload(session, Lead, record_id=lead_id, what="lead", **guard, **update)


async def update_lead(ctx: RequestContext, *, lead_id: str, version: int, changes: Mapping[str, Any]) -> Lead:
    values = clean_fields(changes, LEAD_FIELDS, creating=False)
    for required in ("name", "source", "status"):
        if required in values and values[required] is None:
            raise ValidationError(f"{required} cannot be empty", field=required)
    if values.get("status") in OPEN_STATUSES:
        values["disqualification_reason"] = None  # reopening a lead clears why it was dropped
    async with write_transaction(ctx) as session:
        lead = await _update_unconverted(
            session, lead_id=lead_id, version=version, values={**values, **_derived(values)}, actor=ctx.actor
        )
        _check_money_currency(lead)
        if any(name in values for name in SEARCHED_FIELDS):
            lead.search_text = lead_search_text(lead)  # from the whole lead, not only what changed
    return lead


class Keep(Enum):
    """Leave a field as it is (distinct from ``None``, which clears it)."""

    KEEP = "keep"


KEEP = Keep.KEEP


async def assign_lead(
    ctx: RequestContext,
    *,
    lead_id: str,
    version: int,
    owner_id: str | Keep | None = KEEP,
    territory_id: str | Keep | None = KEEP,
) -> Lead:
    """Set owner and/or territory by hand (``None`` clears, ``KEEP`` leaves as is). A territory set here is
    kept by assignment runs; clearing it hands the lead back to the rules."""
    values: dict[str, Any] = {}
    if not isinstance(owner_id, Keep):
        values["owner_id"] = reference(owner_id, "owner_id")
    if not isinstance(territory_id, Keep):
        values["territory_id"] = reference(territory_id, "territory_id")
        values["territory_manual"] = values["territory_id"] is not None
    if not values:
        raise ValidationError("name an owner, a territory or both", field="owner_id")
    async with write_transaction(ctx) as session:
        await require_rep(session, values.get("owner_id"), field="owner_id")
        await require_territory(session, values.get("territory_id"), field="territory_id")
        lead = await _update_unconverted(
            session, lead_id=lead_id, version=version, values=values, actor=ctx.actor
        )
        record_event(
            session,
            kind="lead.assigned",
            subject_type="lead",
            subject_id=lead.id,
            title=f"Lead {lead.name} assigned",
            actor=ctx.actor,
            data={"owner_id": lead.owner_id, "territory_id": lead.territory_id},
        )
    return lead


async def _set_status(
    ctx: RequestContext, *, lead_id: str, version: int, status: str, reason: str | None, event: str
) -> Lead:
    """Move a (not converted) lead to ``status`` and record the event, in one transaction."""
    async with write_transaction(ctx) as session:
        lead = await _update_unconverted(
            session,
            lead_id=lead_id,
            version=version,
            values={"status": status, "disqualification_reason": reason},
            actor=ctx.actor,
        )
        record_event(
            session,
            kind=f"lead.{event}",
            subject_type="lead",
            subject_id=lead.id,
            title=f"Lead {lead.name} {event}" + (f": {reason}" if reason else ""),
            actor=ctx.actor,
            data={"reason": reason} if reason else None,
        )
    return lead


async def qualify_lead(ctx: RequestContext, *, lead_id: str, version: int) -> Lead:
    return await _set_status(
        ctx, lead_id=lead_id, version=version, status="Qualified", reason=None, event="qualified"
    )


async def disqualify_lead(ctx: RequestContext, *, lead_id: str, version: int, reason: str | None) -> Lead:
    clean_reason = text(500)(reason, "reason")
    if clean_reason is None:
        raise ValidationError("a reason is required to disqualify a lead", field="reason")
    return await _set_status(
        ctx, lead_id=lead_id, version=version, status="Unqualified", reason=clean_reason, event="disqualified"
    )


async def get_lead(ctx: RequestContext, *, lead_id: str) -> Lead | None:
    if len(lead_id) > 40:
        return None
    async with ctx.hub.db.session() as session:
        return await session.get(Lead, lead_id)


async def list_leads(
    ctx: RequestContext,
    *,
    first: int | None = None,
    after: str | None = None,
    status: str | None = None,
    owner_id: str | None = None,
    territory_id: str | None = None,
    include_subterritories: bool = False,
    search: str | None = None,
) -> Page[Lead]:
    """Leads newest first, filtered by status, owner, territory (optionally with its subtree) and search."""
    statement = select(Lead)
    if status is not None:
        statement = statement.where(Lead.status == choice(LEAD_STATUSES)(status, "status"))
    if owner_id is not None:
        statement = statement.where(Lead.owner_id == owner_id)
    async with ctx.hub.db.session() as session:
        if territory_id is not None:
            ids = await territory_subtree(session, territory_id) if include_subterritories else [territory_id]
            statement = statement.where(Lead.territory_id.in_(ids))
        condition = search_condition(search, Lead.search_text)
        if condition is not None:
            statement = statement.where(condition)
        return await keyset_page(
            ctx,
            session,
            statement,
            kind="leads",
            keys=[timestamp_key(Lead.created_at), SortKey(Lead.id)],
            first=first,
            after=after,
            descending=True,
        )
