"""The attributes territory rules look at, for leads (their own fields) and hub customers (their golden
profile, with what the CRM profile adds). Customers are read in chunks: one links query and one
``get_many`` per source for a whole chunk, never one silo call per customer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import select

from hub.context import RequestContext
from hub.loaders import Loaders
from hub.services.customers import customer_profile
from hub.services.profile import CustomerProfile
from hub.store.models import HubCustomer

from .models import CrmCustomerProfile, Lead
from .rules import TargetAttributes
from .validation import from_minor


def lead_attributes(lead: Lead) -> TargetAttributes:
    return TargetAttributes(
        country=lead.country,
        region=lead.region,
        city=lead.city,
        postal_code=lead.postal_code,
        industry=lead.industry,
        annual_revenue=from_minor(lead.annual_revenue_minor),
    )


def profile_attributes(profile: CustomerProfile, crm: CrmCustomerProfile | None) -> TargetAttributes:
    address = profile.address
    territory_code = next((r.territory_code for r in profile.records if r.territory_code), None)

    def pick(silo: str | None, field: str) -> str | None:
        return silo if silo else (getattr(crm, field) if crm is not None else None)

    return TargetAttributes(
        country=pick(address.country if address else None, "country"),
        region=pick(address.region if address else None, "region"),
        city=pick(address.city if address else None, "city"),
        postal_code=pick(address.postal_code if address else None, "postal_code"),
        industry=pick(profile.industry, "industry"),
        annual_revenue=from_minor(crm.annual_revenue_minor) if crm is not None else None,
        territory_code=territory_code,
    )


async def customer_attributes(
    ctx: RequestContext, customers: Sequence[HubCustomer]
) -> dict[str, TargetAttributes]:
    """Attributes of a chunk of customers. The profiles are requested together through fresh DataLoaders,
    so the chunk costs one links query and one batched ``get_many`` per source."""
    chunk_ctx = RequestContext(hub=ctx.hub, loaders=Loaders(ctx.hub), actor=ctx.actor)
    profiles = await asyncio.gather(*(customer_profile(chunk_ctx, customer=c) for c in customers))
    async with ctx.hub.db.session() as session:
        crm_rows = await session.scalars(
            select(CrmCustomerProfile).where(
                CrmCustomerProfile.hub_customer_id.in_([c.id for c in customers])
            )
        )
        crm = {row.hub_customer_id: row for row in crm_rows}
    return {
        customer.id: profile_attributes(profile, crm.get(customer.id))
        for customer, profile in zip(customers, profiles, strict=True)
    }
