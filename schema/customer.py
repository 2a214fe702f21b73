"""The customer 360: one hub customer with what every linked silo knows about it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import strawberry

from adapters.sdk import Address as AddressRecord
from hub.identity.explain import match_explanation
from hub.pagination import check_page_size, slice_list
from hub.services import customers as service
from hub.services import engagement, finance
from hub.services.profile import CustomerProfile
from hub.store.models import CustomerLink, HubCustomer

from .context import Info
from .crm.timeline import TimelineEpisode, resolve_timeline
from .engagement import Marketing, Ticket, TicketStatus
from .finance import Invoice, InvoiceStatus, Money, Payment
from .matching import RecordMatch
from .orders import Order
from .records import SourceRecord, record_field
from .relay import Connection


@strawberry.type
class Address:
    street: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None

    @classmethod
    def from_record(cls, record: AddressRecord) -> Address:
        return cls(**record.model_dump())


@strawberry.type
class Contact(SourceRecord):
    first_name: str | None = record_field("first_name", str | None)
    last_name: str | None = record_field("last_name", str | None)
    email: str | None = record_field("email", str | None)
    phone: str | None = record_field("phone", str | None)
    title: str | None = record_field("title", str | None)


@strawberry.type
class CreditTerms:
    _record: strawberry.Private[Any]

    credit_limit: Decimal | None = record_field("credit_limit", Decimal | None)
    currency: str | None = record_field("currency", str | None)
    payment_terms_days: int | None = record_field("payment_terms_days", int | None)
    on_hold: bool = record_field("on_hold", bool)
    source: str = record_field("source", str)


@strawberry.type
class SourceRecordRef:
    """One silo record attached to this customer, and why."""

    source: str
    external_id: str
    entity: str = strawberry.field(description='The canonical entity: "customer", "marketing_member"...')
    rule: str = strawberry.field(description='The match rule that linked it ("seed", "manual", a rule name).')
    score: float
    manual: bool = strawberry.field(description="Linked by an admin's merge or split, not by a rule.")
    linked_at: datetime = strawberry.field(description="When the record was attached to this customer.")

    @classmethod
    def from_link(cls, link: CustomerLink) -> SourceRecordRef:
        return cls(
            source=link.source,
            external_id=link.external_id,
            entity=link.entity,
            rule=link.rule,
            score=link.score,
            manual=link.manual,
            linked_at=link.linked_at,
        )


@strawberry.type
class Customer:
    # Fields read from silos are nullable: when a source fails, its field resolves to null with a typed
    # error (partial results) instead of nulling the whole customer.
    _row: strawberry.Private[HubCustomer]

    async def _profile(self, info: Info) -> CustomerProfile:
        return await service.customer_profile(info.context, customer=self._row)

    @strawberry.field(description="The stable hub id; it survives re-runs of identity resolution.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self._row.id)

    @strawberry.field
    async def name(self, info: Info) -> str:
        return (await self._profile(info)).name

    @strawberry.field
    async def legal_name(self, info: Info) -> str | None:
        return (await self._profile(info)).legal_name

    @strawberry.field
    async def email(self, info: Info) -> str | None:
        return (await self._profile(info)).email

    @strawberry.field
    async def phone(self, info: Info) -> str | None:
        return (await self._profile(info)).phone

    @strawberry.field
    async def website(self, info: Info) -> str | None:
        return (await self._profile(info)).website

    @strawberry.field
    async def tax_id(self, info: Info) -> str | None:
        return (await self._profile(info)).tax_id

    @strawberry.field
    async def industry(self, info: Info) -> str | None:
        return (await self._profile(info)).industry

    @strawberry.field
    async def address(self, info: Info) -> Address | None:
        address = (await self._profile(info)).address
        return Address.from_record(address) if address else None

    @strawberry.field
    async def sources(self, info: Info) -> list[SourceRecordRef]:
        links = await service.customer_links(info.context, customer=self._row)
        return [SourceRecordRef.from_link(link) for link in links]

    @strawberry.field(
        description="Why each silo record is attached: the rule, the record it matched and each criterion "
        "with its normalized values and score."
    )
    async def match_explanation(self, info: Info) -> list[RecordMatch]:
        found = await match_explanation(info.context, customer=self._row)
        return [RecordMatch.from_explanation(item) for item in found]

    @strawberry.field
    async def contacts(self, info: Info) -> list[Contact] | None:
        return [Contact(_record=c) for c in await service.customer_contacts(info.context, customer=self._row)]

    @strawberry.field
    async def credit_terms(self, info: Info) -> CreditTerms | None:
        terms = await service.customer_credit_terms(info.context, customer=self._row)
        return CreditTerms(_record=terms) if terms else None

    @strawberry.field(
        description="What the customer owes: the sum of open invoice balances; null when no accounting "
        "record is linked to the customer."
    )
    async def balance(self, info: Info) -> Money | None:
        money = await finance.customer_balance(info.context, customer=self._row)
        return Money(amount=money.amount, currency=money.currency) if money else None

    @strawberry.field(description="Invoices from every linked accounting source, newest first.")
    async def invoices(self, info: Info, status: InvoiceStatus | None = None) -> list[Invoice] | None:
        wanted = finance.InvoiceStatus(status.value) if status else None
        now = datetime.now(UTC)
        found = await finance.customer_invoices(info.context, customer=self._row, status=wanted, now=now)
        return [Invoice(_record=invoice, _now=now) for invoice in found]

    @strawberry.field(description="Payments received, newest first.")
    async def payments(self, info: Info) -> list[Payment] | None:
        return [Payment(_record=p) for p in await finance.customer_payments(info.context, customer=self._row)]

    @strawberry.field(
        description="What the customer was invoiced over the whole relationship; null when no accounting "
        "record is linked to the customer."
    )
    async def lifetime_value(self, info: Info) -> Money | None:
        money = await finance.customer_lifetime_value(info.context, customer=self._row)
        return Money(amount=money.amount, currency=money.currency) if money else None

    @strawberry.field(description="Support tickets of the customer's organisations, newest first.")
    async def tickets(self, info: Info, status: list[TicketStatus] | None = None) -> list[Ticket] | None:
        statuses = {s.value for s in status} if status else None
        found = await engagement.customer_tickets(info.context, customer=self._row, statuses=statuses)
        return [Ticket(_record=ticket) for ticket in found]

    @strawberry.field(description="List memberships and campaign activity from the marketing sources.")
    async def marketing(self, info: Info) -> Marketing | None:
        data = await engagement.customer_marketing(info.context, customer=self._row)
        return Marketing(_data=data) if data else None

    @strawberry.field(description="Orders from every linked ERP source, newest first.")
    async def orders(self, info: Info, first: int = 10, after: str | None = None) -> Connection[Order] | None:
        size = check_page_size(first, default=10, maximum=info.context.hub.settings.graphql.max_page_size)
        orders = await service.customer_orders(info.context, customer=self._row)
        page = slice_list(orders, kind=f"orders:{self._row.id}", first=size, after=after)
        return Connection.from_page(page, lambda record: Order(_record=record))

    @strawberry.field(
        description="Everything that happened with this customer, newest first: silo episodes (orders, "
        "invoices, tickets...) and CRM activities, competitor notes and lead/opportunity events. "
        '`kinds` filters (e.g. ["order", "opportunity"]).'
    )
    async def timeline(
        self, info: Info, first: int | None = None, after: str | None = None, kinds: list[str] | None = None
    ) -> Connection[TimelineEpisode] | None:
        return await resolve_timeline(info, self._row, first, after, kinds)
