"""Lead conversion: the lead becomes (or joins) a hub customer and may open an opportunity, all in one
transaction. Like a CRM merging a lead into an existing account, conversion only fills fields that are
empty: what the silos or earlier conversions know about a customer is never overwritten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update

from hub.context import RequestContext
from hub.identity import hub_customer_id
from hub.identity.normalize import search_text
from hub.services.customers import customer_profile, get_customer
from hub.services.profile import CustomerProfile
from hub.store.models import CustomerLink, HubCustomer

from ..errors import AlreadyConvertedError, ConflictError, InvalidStateError, NotFoundError, ValidationError
from ..events import record_event
from ..models import CrmCustomerProfile, CustomerTerritory, Lead, Opportunity
from ..types import utcnow
from ..validation import clean_fields
from ..versioning import audit_values, guarded_update, write_transaction
from .opportunities import OPPORTUNITY_FIELDS, insert_opportunity
from .stages import list_stages

CRM_SOURCE = "crm"
CONVERSION_RULE = "lead_conversion"
DEFAULT_CLOSE_IN_DAYS = 90
#: CRM profile field -> the lead field it is filled from.
PROFILE_FROM_LEAD = {
    "company": "company",
    "email": "email",
    "phone": "phone",
    "website": "website",
    "industry": "industry",
    "street": "street",
    "city": "city",
    "postal_code": "postal_code",
    "region": "region",
    "country": "country",
    "annual_revenue_minor": "annual_revenue_minor",
}


@dataclass(frozen=True, slots=True)
class ConversionResult:
    lead: Lead
    customer: HubCustomer
    opportunity: Opportunity | None
    created_customer: bool


def _silo_values(profile: CustomerProfile | None) -> dict[str, Any]:
    """The golden profile's values per CRM profile field (what the silos already know)."""
    if profile is None:
        return {}
    address = profile.address
    return {
        "company": profile.name,
        "email": profile.email,
        "phone": profile.phone,
        "website": profile.website,
        "industry": profile.industry,
        "street": address.street if address else None,
        "city": address.city if address else None,
        "postal_code": address.postal_code if address else None,
        "region": address.region if address else None,
        "country": address.country if address else None,
    }


def _search_text(lead: Lead) -> str:
    return search_text([lead.company, lead.name, lead.email, lead.phone])


async def _opportunity_values(
    ctx: RequestContext, lead: Lead, opportunity: Mapping[str, Any]
) -> dict[str, Any]:
    """The opportunity to open, its gaps filled from the lead (name, amount, owner, territory...)."""
    values = clean_fields(opportunity, OPPORTUNITY_FIELDS, creating=False)
    stages = [s for s in await list_stages(ctx) if not s.is_closed]
    defaults = {
        "name": lead.company or lead.name,
        "amount_minor": lead.expected_revenue_minor,
        "currency": lead.currency,
        "stage": stages[0].name if stages else None,
        "close_date": dt.date.today() + dt.timedelta(days=DEFAULT_CLOSE_IN_DAYS),
        "owner_id": lead.owner_id,
        "territory_id": lead.territory_id,
    }
    for name, value in defaults.items():
        if values.get(name) is None:
            values[name] = value
    if values["amount_minor"] is None:
        raise ValidationError(
            "the opportunity needs an amount (the lead has no expected revenue)", field="amount"
        )
    if values["currency"] is None:
        raise ValidationError("the opportunity needs a currency", field="currency")
    if values["stage"] is None:
        raise ValidationError("no open stage is configured", field="stage")
    values["lead_id"] = lead.id
    return values


async def convert_lead(
    ctx: RequestContext,
    *,
    lead_id: str,
    version: int,
    customer_id: str | None = None,
    opportunity: Mapping[str, Any] | None = None,
) -> ConversionResult:
    """Convert a lead into the hub customer ``customer_id`` (or a new CRM customer), optionally opening an
    opportunity. Nothing is written unless all of it is; converting a converted lead is rejected."""
    async with ctx.hub.db.session() as session:
        lead = await session.get(Lead, lead_id) if len(lead_id) <= 40 else None
    if lead is None:
        raise NotFoundError(f"no lead with id {lead_id!r}", field="lead_id")
    if lead.status == "Converted":
        raise AlreadyConvertedError(
            f"lead {lead_id!r} was already converted (customer {lead.converted_customer_id})", field="lead_id"
        )
    if lead.status == "Unqualified":
        raise InvalidStateError("a disqualified lead cannot be converted; qualify it first")
    silo_profile: CustomerProfile | None = None
    if customer_id is not None:
        existing = await get_customer(ctx, customer_id=customer_id)
        if existing is None:
            raise NotFoundError(f"no customer with id {customer_id!r}", field="customer_id")
        silo_profile = await customer_profile(ctx, customer=existing)
    opportunity_values = (
        await _opportunity_values(ctx, lead, opportunity) if opportunity is not None else None
    )
    try:
        return await _convert(ctx, lead, version, customer_id, silo_profile, opportunity_values)
    except ConflictError:
        # A concurrent conversion of the same lead won the race for the customer row or link.
        async with ctx.hub.db.session() as session:
            status = await session.scalar(select(Lead.status).where(Lead.id == lead_id))
        if status == "Converted":
            raise AlreadyConvertedError(f"lead {lead_id!r} was already converted", field="lead_id") from None
        raise


async def _convert(
    ctx: RequestContext,
    lead: Lead,
    version: int,
    customer_id: str | None,
    silo_profile: CustomerProfile | None,
    opportunity_values: dict[str, Any] | None,
) -> ConversionResult:
    now = utcnow()
    async with write_transaction(ctx) as session:
        if customer_id is None:
            customer = HubCustomer(
                id=hub_customer_id(CRM_SOURCE, lead.id),
                display_name=(lead.company or lead.name)[:300],
                search_text=_search_text(lead),
                country=lead.country,
                created_at=now,
                updated_at=now,
            )
            session.add(customer)
            await session.flush()  # the rows below refer to it; the unit of work does not order by keys
            created = True
            if lead.territory_id is not None:  # the new customer belongs where its lead belonged
                session.add(
                    CustomerTerritory(
                        hub_customer_id=customer.id,
                        territory_id=lead.territory_id,
                        manual=lead.territory_manual,
                        rule_id=None,
                        **audit_values(ctx.actor),
                    )
                )
                await session.flush()
        else:
            found = await session.get(HubCustomer, customer_id)
            while found is not None and found.merged_into:
                found = await session.get(HubCustomer, found.merged_into)
            if found is None:
                raise NotFoundError(f"no customer with id {customer_id!r}", field="customer_id")
            customer, created = found, False
            await _fill_customer_snapshot(session, customer.id, lead)
        session.add(
            CustomerLink(
                hub_customer_id=customer.id,
                source=CRM_SOURCE,
                external_id=lead.id,
                rule=CONVERSION_RULE,
                score=1.0,
                manual=True,
                linked_at=now,
            )
        )
        await session.flush()
        await _fill_crm_profile(session, customer.id, lead, silo_profile, actor=ctx.actor)
        opened = None
        if opportunity_values is not None:
            opened = await insert_opportunity(
                session, {**opportunity_values, "customer_id": customer.id}, actor=ctx.actor
            )
        record_event(
            session,
            kind="lead.converted",
            subject_type="lead",
            subject_id=lead.id,
            customer_id=customer.id,
            title=f"Lead {lead.name} converted" + (" (new customer)" if created else ""),
            actor=ctx.actor,
            data={"opportunity_id": opened.id if opened else None, "new_customer": created},
        )
        # The version check is the last write: if it fails, the customer and opportunity above roll back.
        await guarded_update(
            session,
            Lead,
            key=Lead.id,
            record_id=lead.id,
            version=version,
            values={
                "status": "Converted",
                "converted_at": now,
                "converted_customer_id": customer.id,
                "converted_opportunity_id": opened.id if opened else None,
            },
            actor=ctx.actor,
            what="lead",
            only_if=(Lead.status != "Converted",),
            otherwise=AlreadyConvertedError(f"lead {lead.id!r} was already converted", field="lead_id"),
        )
        converted = await session.get(Lead, lead.id, populate_existing=True)
        await session.refresh(customer)
    assert converted is not None
    return ConversionResult(converted, customer, opened, created)


async def _fill_customer_snapshot(session: Any, customer_id: str, lead: Lead) -> None:
    """Only empty snapshot fields take the lead's values; the WHERE makes that hold under concurrency."""
    if lead.company or lead.name:
        await session.execute(
            update(HubCustomer)
            .where(
                HubCustomer.id == customer_id,
                or_(HubCustomer.display_name == "", HubCustomer.display_name.is_(None)),
            )
            .values(display_name=(lead.company or lead.name)[:300], updated_at=utcnow())
        )
    if lead.country:
        await session.execute(
            update(HubCustomer)
            .where(HubCustomer.id == customer_id, HubCustomer.country.is_(None))
            .values(country=lead.country, updated_at=utcnow())
        )


async def _fill_crm_profile(
    session: Any, customer_id: str, lead: Lead, silo_profile: CustomerProfile | None, *, actor: str
) -> None:
    known = {k: v for k, v in _silo_values(silo_profile).items() if v}
    offered = {
        column: getattr(lead, source)
        for column, source in PROFILE_FROM_LEAD.items()
        if getattr(lead, source) is not None and column not in known
    }
    if "annual_revenue_minor" in offered:
        offered["currency"] = lead.currency
    profile = await session.get(CrmCustomerProfile, customer_id)
    if profile is None:
        session.add(CrmCustomerProfile(hub_customer_id=customer_id, **offered, **audit_values(actor)))
        return
    gaps = {column: value for column, value in offered.items() if getattr(profile, column) is None}
    if gaps:
        await guarded_update(
            session,
            CrmCustomerProfile,
            key=CrmCustomerProfile.hub_customer_id,
            record_id=customer_id,
            version=profile.version,
            values=gaps,
            actor=actor,
            what="customer profile",
        )
