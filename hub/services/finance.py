"""Invoices, payments and balance from the accounting sources."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from adapters.sdk import Entity, Invoice, Payment

from ..context import RequestContext
from ..errors import HubError
from ..store.models import HubCustomer
from .customers import customer_links, linked_records

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InvoiceStatus(StrEnum):
    PAID = "paid"
    OPEN = "open"  # something is still due, but not yet late
    OVERDUE = "overdue"


def invoice_status(invoice: Invoice, *, now: datetime) -> InvoiceStatus:
    if invoice.balance <= 0:
        return InvoiceStatus.PAID
    if invoice.due_at is not None and invoice.due_at < now:
        return InvoiceStatus.OVERDUE
    return InvoiceStatus.OPEN


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str | None


class MixedCurrencyError(HubError):
    code = "MIXED_CURRENCY"


async def customer_invoices(
    ctx: RequestContext,
    *,
    customer: HubCustomer,
    status: InvoiceStatus | None = None,
    now: datetime | None = None,
) -> list[Invoice]:
    """Invoices of every linked accounting record, newest first, optionally of one status."""
    now = now or datetime.now(UTC)
    found = await linked_records(ctx, customer=customer, entity=Entity.INVOICE)
    invoices = [r for r in found if isinstance(r, Invoice)]
    if status is not None:
        invoices = [i for i in invoices if invoice_status(i, now=now) is status]
    invoices.sort(key=lambda i: (i.issued_at or _EPOCH, i.external_id), reverse=True)
    return invoices


async def customer_payments(ctx: RequestContext, *, customer: HubCustomer) -> list[Payment]:
    found = await linked_records(ctx, customer=customer, entity=Entity.PAYMENT)
    payments = [r for r in found if isinstance(r, Payment)]
    payments.sort(key=lambda p: (p.paid_at or _EPOCH, p.external_id), reverse=True)
    return payments


async def customer_balance(ctx: RequestContext, *, customer: HubCustomer) -> Money | None:
    """What the customer still owes: the sum of open invoice balances; ``None`` when no accounting record
    is linked to the customer (the hub does not know it; a zero would read as "owes nothing")."""
    invoices = await customer_invoices(ctx, customer=customer)
    if not invoices and not await _has_accounting_record(ctx, customer):
        return None
    currencies = {i.currency for i in invoices if i.balance}
    if len(currencies) > 1:
        raise MixedCurrencyError(
            f"open invoices are in several currencies ({', '.join(sorted(c or '?' for c in currencies))}); "
            "read `invoices` for the amounts per currency"
        )
    currency = next(iter(currencies), None) or next((i.currency for i in invoices), None)
    return Money(amount=sum((i.balance for i in invoices), Decimal(0)), currency=currency)


async def customer_lifetime_value(ctx: RequestContext, *, customer: HubCustomer) -> Money | None:
    """What the customer has been invoiced over the whole relationship (the sum of invoice totals);
    ``None`` when no accounting record is linked to the customer."""
    invoices = await customer_invoices(ctx, customer=customer)
    if not invoices and not await _has_accounting_record(ctx, customer):
        return None
    currencies = {i.currency for i in invoices}
    if len(currencies) > 1:
        raise MixedCurrencyError(
            f"invoices are in several currencies ({', '.join(sorted(c or '?' for c in currencies))}); "
            "read `invoices` for the amounts per currency"
        )
    return Money(amount=sum((i.total for i in invoices), Decimal(0)), currency=next(iter(currencies), None))


async def _has_accounting_record(ctx: RequestContext, customer: HubCustomer) -> bool:
    """Whether a customer record of a source that lists invoices is linked to ``customer``."""
    sources = set(ctx.hub.sources.providing(Entity.INVOICE, "customer_external_id"))
    links = await customer_links(ctx, customer=customer) if sources else []
    return any(link.source in sources and link.entity == Entity.CUSTOMER.value for link in links)
