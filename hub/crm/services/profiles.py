"""The CRM-side customer profile (what lead conversions added beyond the silos)."""

from __future__ import annotations

from hub.context import RequestContext

from ..models import CrmCustomerProfile


async def crm_profile(ctx: RequestContext, *, customer_id: str) -> CrmCustomerProfile | None:
    if len(customer_id) > 40:
        return None
    async with ctx.hub.db.session() as session:
        return await session.get(CrmCustomerProfile, customer_id)
