"""Canonical entity models: the one vocabulary every adapter maps its upstream records into.

Each record carries ``(source, external_id)`` so the hub can always say where a value came from.
Money is ``Decimal`` (never float) and every timestamp is timezone-aware UTC once validated.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class Entity(StrEnum):
    """The canonical entities an adapter may provide."""

    CUSTOMER = "customer"
    CONTACT = "contact"
    ORDER = "order"
    ORDER_LINE = "order_line"
    PRODUCT = "product"
    INVOICE = "invoice"
    PAYMENT = "payment"
    CREDIT_TERMS = "credit_terms"
    TICKET = "ticket"
    MARKETING_MEMBER = "marketing_member"
    CAMPAIGN_ACTIVITY = "campaign_activity"


def _as_utc(value: Any) -> Any:
    """Upstreams send naive timestamps, dates or ISO strings; the hub compares them, so pin them to UTC."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, str) and value.strip():
        text = value.strip().replace("Z", "+00:00")
        parsed = dt.datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if isinstance(value, str):
        return None
    return value


class CanonicalRecord(BaseModel):
    """Base of every canonical record."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    entity: Entity
    source: str
    external_id: str
    updated_at: dt.datetime | None = None

    @field_validator("external_id", mode="before")
    @classmethod
    def _key_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("updated_at", mode="before")
    @classmethod
    def _updated_utc(cls, value: Any) -> Any:
        return _as_utc(value)


def _ref_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) else value


class Address(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None

    @field_validator("postal_code", mode="before")
    @classmethod
    def _postal_text(cls, value: Any) -> Any:
        return _ref_as_text(value)


class CustomerRecord(CanonicalRecord):
    entity: Entity = Entity.CUSTOMER
    name: str
    legal_name: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    tax_id: str | None = None
    industry: str | None = None
    annual_revenue: Decimal | None = None
    address: Address | None = None
    #: Upstream hints for territory assignment (ERP region or territory code).
    territory_code: str | None = None
    created_at: dt.datetime | None = None

    @field_validator("created_at", mode="before")
    @classmethod
    def _created_utc(cls, value: Any) -> Any:
        return _as_utc(value)


class Contact(CanonicalRecord):
    entity: Entity = Entity.CONTACT
    customer_external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    title: str | None = None

    _refs = field_validator("customer_external_id", mode="before")(_ref_as_text)


class Product(CanonicalRecord):
    entity: Entity = Entity.PRODUCT
    name: str
    sku: str | None = None
    category: str | None = None
    unit_price: Decimal | None = None
    currency: str | None = None
    discontinued: bool = False


class Order(CanonicalRecord):
    entity: Entity = Entity.ORDER
    customer_external_id: str
    number: str | None = None
    ordered_at: dt.datetime | None = None
    status: str | None = None
    currency: str | None = None
    total: Decimal | None = None
    sales_rep: str | None = None

    _refs = field_validator("customer_external_id", "number", mode="before")(_ref_as_text)

    @field_validator("ordered_at", mode="before")
    @classmethod
    def _ordered_utc(cls, value: Any) -> Any:
        return _as_utc(value)


class OrderLine(CanonicalRecord):
    entity: Entity = Entity.ORDER_LINE
    order_external_id: str
    product_external_id: str | None = None
    description: str | None = None
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = Decimal(0)
    amount: Decimal | None = None

    _refs = field_validator("order_external_id", "product_external_id", mode="before")(_ref_as_text)


class CreditTerms(CanonicalRecord):
    entity: Entity = Entity.CREDIT_TERMS
    customer_external_id: str
    credit_limit: Decimal | None = None
    currency: str | None = None
    payment_terms_days: int | None = None
    on_hold: bool = False

    _refs = field_validator("customer_external_id", mode="before")(_ref_as_text)


class Invoice(CanonicalRecord):
    entity: Entity = Entity.INVOICE
    customer_external_id: str
    number: str | None = None
    issued_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    total: Decimal
    balance: Decimal
    currency: str | None = None

    _refs = field_validator("customer_external_id", "number", mode="before")(_ref_as_text)

    @field_validator("issued_at", "due_at", mode="before")
    @classmethod
    def _dates_utc(cls, value: Any) -> Any:
        return _as_utc(value)


class Payment(CanonicalRecord):
    entity: Entity = Entity.PAYMENT
    customer_external_id: str
    paid_at: dt.datetime | None = None
    amount: Decimal
    currency: str | None = None
    invoice_external_ids: tuple[str, ...] = ()

    _refs = field_validator("customer_external_id", mode="before")(_ref_as_text)

    @field_validator("paid_at", mode="before")
    @classmethod
    def _paid_utc(cls, value: Any) -> Any:
        return _as_utc(value)


class Ticket(CanonicalRecord):
    entity: Entity = Entity.TICKET
    customer_external_id: str | None = None
    requester_email: str | None = None
    subject: str
    status: str
    priority: str | None = None
    created_at: dt.datetime | None = None

    _refs = field_validator("customer_external_id", mode="before")(_ref_as_text)

    @field_validator("created_at", mode="before")
    @classmethod
    def _created_utc(cls, value: Any) -> Any:
        return _as_utc(value)


class MarketingMember(CanonicalRecord):
    entity: Entity = Entity.MARKETING_MEMBER
    email: str
    status: str
    list_id: str | None = None
    list_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    phone: str | None = None


class CampaignActivity(CanonicalRecord):
    entity: Entity = Entity.CAMPAIGN_ACTIVITY
    email: str
    campaign_id: str
    campaign_name: str | None = None
    action: str
    occurred_at: dt.datetime | None = None

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _occurred_utc(cls, value: Any) -> Any:
        return _as_utc(value)


#: The model that validates each entity's records.
MODELS: dict[Entity, type[CanonicalRecord]] = {
    Entity.CUSTOMER: CustomerRecord,
    Entity.CONTACT: Contact,
    Entity.ORDER: Order,
    Entity.ORDER_LINE: OrderLine,
    Entity.PRODUCT: Product,
    Entity.INVOICE: Invoice,
    Entity.PAYMENT: Payment,
    Entity.CREDIT_TERMS: CreditTerms,
    Entity.TICKET: Ticket,
    Entity.MARKETING_MEMBER: MarketingMember,
    Entity.CAMPAIGN_ACTIVITY: CampaignActivity,
}
