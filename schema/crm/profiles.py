"""What the CRM knows about a customer beyond the silos (filled by lead conversions)."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from hub.crm.models import CrmCustomerProfile as ProfileRow
from hub.crm.services.profiles import crm_profile
from hub.crm.validation import from_minor

from ..context import Info
from .common import Audited, audit


@strawberry.type
class CrmCustomerProfile(Audited):
    customer_id: strawberry.ID
    company: str | None
    email: str | None
    phone: str | None
    website: str | None
    industry: str | None
    street: str | None
    city: str | None
    postal_code: str | None
    region: str | None
    country: str | None
    annual_revenue: Decimal | None
    currency: str | None

    @classmethod
    def from_row(cls, row: ProfileRow) -> CrmCustomerProfile:
        return cls(
            customer_id=strawberry.ID(row.hub_customer_id),
            company=row.company,
            email=row.email,
            phone=row.phone,
            website=row.website,
            industry=row.industry,
            street=row.street,
            city=row.city,
            postal_code=row.postal_code,
            region=row.region,
            country=row.country,
            annual_revenue=from_minor(row.annual_revenue_minor),
            currency=row.currency,
            **audit(row),
        )


@strawberry.type
class ProfileQuery:
    @strawberry.field(description="CRM-side profile of a customer; null when the CRM adds nothing.")
    async def crm_profile(self, info: Info, customer_id: strawberry.ID) -> CrmCustomerProfile | None:
        row = await crm_profile(info.context, customer_id=str(customer_id))
        return CrmCustomerProfile.from_row(row) if row else None
