"""Leads: queries, mutations (create with duplicate hints, update, assign, qualify, disqualify, convert)
and the CSV import."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.crm.duplicates import DuplicateHint as DuplicateHintRecord
from hub.crm.models import Lead as LeadRow
from hub.crm.services import conversion, lead_import
from hub.crm.services import leads as service
from hub.crm.validation import from_minor
from hub.services.customers import get_customer

from ..context import Info
from ..relay import Connection
from .common import Audited, CrmError, SalesRep, attempt, audit, changes, from_id, load_rep
from .territories import Territory, load_territory

if TYPE_CHECKING:
    from ..customer import Customer
    from .opportunities import Opportunity, OpportunityDraftInput

CustomerRef = Annotated["Customer", strawberry.lazy("schema.customer")]
OpportunityRef = Annotated["Opportunity", strawberry.lazy("schema.crm.opportunities")]
OpportunityDraftRef = Annotated["OpportunityDraftInput", strawberry.lazy("schema.crm.opportunities")]


@strawberry.enum
class LeadStatus(Enum):
    NEW = "New"
    CONTACTED = "Contacted"
    QUALIFIED = "Qualified"
    UNQUALIFIED = "Unqualified"
    CONVERTED = "Converted"


@strawberry.enum
class LeadSource(Enum):
    WEB = "web"
    CAMPAIGN = "campaign"
    REFERRAL = "referral"
    IMPORT = "import"
    EVENT = "event"
    PARTNER = "partner"
    COLD_CALL = "cold_call"
    OTHER = "other"


@strawberry.enum
class LeadRating(Enum):
    HOT = "Hot"
    WARM = "Warm"
    COLD = "Cold"


@strawberry.enum
class DuplicateReason(Enum):
    SAME_EMAIL = "SAME_EMAIL"
    SAME_EMAIL_DOMAIN = "SAME_EMAIL_DOMAIN"
    SIMILAR_COMPANY = "SIMILAR_COMPANY"
    SAME_PHONE = "SAME_PHONE"


@strawberry.enum
class DuplicateRecordType(Enum):
    LEAD = "lead"
    CUSTOMER = "customer"


@strawberry.type(description="A record that may describe the same person or company; a hint, never a block.")
class DuplicateHint:
    record_type: DuplicateRecordType
    record_id: strawberry.ID
    name: str
    reason: DuplicateReason
    score: float

    @classmethod
    def from_hint(cls, hint: DuplicateHintRecord) -> DuplicateHint:
        return cls(
            record_type=DuplicateRecordType(hint.record_type),
            record_id=strawberry.ID(hint.record_id),
            name=hint.name,
            reason=DuplicateReason(hint.reason),
            score=hint.score,
        )


@strawberry.type
class Lead(Audited):
    id: strawberry.ID
    name: str
    company: str | None
    title: str | None
    email: str | None
    phone: str | None
    website: str | None
    source: LeadSource
    status: LeadStatus
    rating: LeadRating | None
    territory_manual: bool
    expected_revenue: Decimal | None
    annual_revenue: Decimal | None
    currency: str | None
    disqualification_reason: str | None
    street: str | None
    city: str | None
    postal_code: str | None
    region: str | None
    country: str | None
    industry: str | None
    description: str | None
    converted_at: dt.datetime | None
    _row: strawberry.Private[LeadRow]

    @classmethod
    def from_row(cls, row: LeadRow) -> Lead:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            company=row.company,
            title=row.title,
            email=row.email,
            phone=row.phone,
            website=row.website,
            source=LeadSource(row.source),
            status=LeadStatus(row.status),
            rating=LeadRating(row.rating) if row.rating else None,
            territory_manual=row.territory_manual,
            expected_revenue=from_minor(row.expected_revenue_minor),
            annual_revenue=from_minor(row.annual_revenue_minor),
            currency=row.currency,
            disqualification_reason=row.disqualification_reason,
            street=row.street,
            city=row.city,
            postal_code=row.postal_code,
            region=row.region,
            country=row.country,
            industry=row.industry,
            description=row.description,
            converted_at=row.converted_at,
            _row=row,
            **audit(row),
        )

    @strawberry.field
    async def owner(self, info: Info) -> SalesRep | None:
        return await load_rep(info, self._row.owner_id)

    @strawberry.field
    async def territory(self, info: Info) -> Territory | None:
        return await load_territory(info, self._row.territory_id)

    @strawberry.field(description="The customer this lead was converted into.")
    async def converted_customer(self, info: Info) -> CustomerRef | None:
        from ..customer import Customer

        if self._row.converted_customer_id is None:
            return None
        row = await get_customer(info.context, customer_id=self._row.converted_customer_id)
        return Customer(_row=row) if row else None

    @strawberry.field
    async def converted_opportunity(self, info: Info) -> OpportunityRef | None:
        from hub.crm.services.opportunities import get_opportunity

        from .opportunities import Opportunity

        if self._row.converted_opportunity_id is None:
            return None
        row = await get_opportunity(info.context, opportunity_id=self._row.converted_opportunity_id)
        return Opportunity.from_row(row) if row else None


@strawberry.input
class LeadInput:
    name: str
    company: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    website: str | None = strawberry.UNSET
    source: LeadSource | None = strawberry.UNSET
    status: LeadStatus | None = strawberry.UNSET
    rating: LeadRating | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    territory_id: strawberry.ID | None = strawberry.UNSET
    expected_revenue: Decimal | None = strawberry.UNSET
    annual_revenue: Decimal | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    street: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    postal_code: str | None = strawberry.UNSET
    region: str | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input(description="The fields to change; owner and territory change through assignLead.")
class LeadUpdateInput:
    name: str | None = strawberry.UNSET
    company: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    website: str | None = strawberry.UNSET
    source: LeadSource | None = strawberry.UNSET
    status: LeadStatus | None = strawberry.field(
        default=strawberry.UNSET, description="NEW or CONTACTED; the other states have their own mutations."
    )
    rating: LeadRating | None = strawberry.UNSET
    expected_revenue: Decimal | None = strawberry.UNSET
    annual_revenue: Decimal | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    street: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    postal_code: str | None = strawberry.UNSET
    region: str | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input
class ConvertLeadInput:
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="An existing customer to convert into; null creates a new one."
    )
    opportunity: OpportunityDraftRef | None = strawberry.field(
        default=None, description="Open an opportunity too; unset fields come from the lead."
    )


@strawberry.type
class LeadPayload:
    lead: Lead | None
    duplicates: list[DuplicateHint]
    errors: list[CrmError]


@strawberry.type
class ConvertLeadPayload:
    lead: Lead | None
    customer: CustomerRef | None
    opportunity: OpportunityRef | None
    created_customer: bool
    errors: list[CrmError]


@strawberry.type
class CsvRowError:
    row: int = strawberry.field(description="1-based data row; 0 is the header.")
    field: str | None
    code: str
    message: str


@strawberry.type
class ImportLeadsPayload:
    dry_run: bool
    rows: int
    imported: int
    leads: list[Lead]
    row_errors: list[CsvRowError]
    errors: list[CrmError]


def _lead(row: LeadRow | None, errors: list[CrmError]) -> LeadPayload:
    return LeadPayload(lead=Lead.from_row(row) if row else None, duplicates=[], errors=errors)


@strawberry.type
class LeadQuery:
    @strawberry.field
    async def lead(self, info: Info, id: strawberry.ID) -> Lead | None:
        row = await service.get_lead(info.context, lead_id=str(id))
        return Lead.from_row(row) if row else None

    @strawberry.field(
        description="Leads, newest first; `search` matches part of the name, company or email, whatever the "
        "case, accents or spacing."
    )
    async def leads(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: LeadStatus | None = None,
        owner: strawberry.ID | None = None,
        territory: strawberry.ID | None = None,
        include_subterritories: bool = False,
        search: str | None = None,
    ) -> Connection[Lead]:
        page = await service.list_leads(
            info.context,
            first=first,
            after=after,
            status=status.value if status else None,
            owner_id=from_id(owner),
            territory_id=from_id(territory),
            include_subterritories=include_subterritories,
            search=search,
        )
        return Connection.from_page(page, Lead.from_row)


@strawberry.type
class LeadMutation:
    @strawberry.mutation(description="Create a lead; possible duplicates come back as hints.")
    async def create_lead(self, info: Info, input: LeadInput) -> LeadPayload:
        result, errors = await attempt(service.create_lead(info.context, fields=changes(input)))
        if result is None:
            return LeadPayload(lead=None, duplicates=[], errors=errors)
        duplicates = [DuplicateHint.from_hint(h) for h in result.duplicates]
        return LeadPayload(lead=Lead.from_row(result.lead), duplicates=duplicates, errors=[])

    @strawberry.mutation
    async def update_lead(
        self, info: Info, id: strawberry.ID, version: int, input: LeadUpdateInput
    ) -> LeadPayload:
        return _lead(
            *await attempt(
                service.update_lead(info.context, lead_id=str(id), version=version, changes=changes(input))
            )
        )

    @strawberry.mutation(
        description="Set owner and/or territory by hand; an omitted argument is kept, null clears it. "
        "Assignment runs keep a territory set here."
    )
    async def assign_lead(
        self,
        info: Info,
        id: strawberry.ID,
        version: int,
        owner_id: strawberry.ID | None = strawberry.UNSET,
        territory_id: strawberry.ID | None = strawberry.UNSET,
    ) -> LeadPayload:
        owner = service.KEEP if owner_id is strawberry.UNSET else from_id(owner_id)
        territory = service.KEEP if territory_id is strawberry.UNSET else from_id(territory_id)
        call = service.assign_lead(
            info.context, lead_id=str(id), version=version, owner_id=owner, territory_id=territory
        )
        return _lead(*await attempt(call))

    @strawberry.mutation
    async def qualify_lead(self, info: Info, id: strawberry.ID, version: int) -> LeadPayload:
        return _lead(*await attempt(service.qualify_lead(info.context, lead_id=str(id), version=version)))

    @strawberry.mutation
    async def disqualify_lead(self, info: Info, id: strawberry.ID, version: int, reason: str) -> LeadPayload:
        return _lead(
            *await attempt(
                service.disqualify_lead(info.context, lead_id=str(id), version=version, reason=reason)
            )
        )

    @strawberry.mutation(description="Convert into an existing or a new customer, optionally opening a deal.")
    async def convert_lead(
        self, info: Info, id: strawberry.ID, version: int, input: ConvertLeadInput | None = None
    ) -> ConvertLeadPayload:
        from ..customer import Customer
        from .opportunities import Opportunity

        data = input or ConvertLeadInput()
        result, errors = await attempt(
            conversion.convert_lead(
                info.context,
                lead_id=str(id),
                version=version,
                customer_id=from_id(data.customer_id),
                opportunity=changes(data.opportunity) if data.opportunity is not None else None,
            )
        )
        if result is None:
            return ConvertLeadPayload(
                lead=None, customer=None, opportunity=None, created_customer=False, errors=errors
            )
        return ConvertLeadPayload(
            lead=Lead.from_row(result.lead),
            customer=Customer(_row=result.customer),
            opportunity=Opportunity.from_row(result.opportunity) if result.opportunity else None,
            created_customer=result.created_customer,
            errors=[],
        )

    @strawberry.mutation(
        description="Import leads from CSV (header row first). All rows or none: any row error imports "
        "nothing; `dryRun` only validates."
    )
    async def import_leads(self, info: Info, csv: str, dry_run: bool = False) -> ImportLeadsPayload:
        report, errors = await attempt(lead_import.import_leads(info.context, csv_text=csv, dry_run=dry_run))
        if report is None:
            return ImportLeadsPayload(
                dry_run=dry_run, rows=0, imported=0, leads=[], row_errors=[], errors=errors
            )
        row_errors = [
            CsvRowError(row=e.row, field=e.field, code=e.code, message=e.message) for e in report.errors
        ]
        if row_errors:
            errors = [
                CrmError(
                    code="IMPORT_FAILED",
                    field="csv",
                    message=f"{len(row_errors)} problem(s) in the CSV; nothing was imported",
                )
            ]
        return ImportLeadsPayload(
            dry_run=report.dry_run,
            rows=report.rows,
            imported=len(report.imported),
            leads=[Lead.from_row(r) for r in report.imported],
            row_errors=row_errors,
            errors=errors,
        )
