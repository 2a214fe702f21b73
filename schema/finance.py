"""Balance, invoices and payments from the accounting sources."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum

import strawberry

from adapters.sdk import Invoice as InvoiceRecord
from adapters.sdk import Payment as PaymentRecord
from hub.services import finance


@strawberry.type
class Money:
    amount: Decimal
    currency: str | None


@strawberry.enum
class InvoiceStatus(Enum):
    PAID = finance.InvoiceStatus.PAID.value
    OPEN = finance.InvoiceStatus.OPEN.value
    OVERDUE = finance.InvoiceStatus.OVERDUE.value


@strawberry.type
class Invoice:
    _record: strawberry.Private[InvoiceRecord]
    _now: strawberry.Private[datetime]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(f"{self._record.source}:{self._record.external_id}")

    @strawberry.field
    def source(self) -> str:
        return self._record.source

    @strawberry.field
    def number(self) -> str | None:
        return self._record.number

    @strawberry.field
    def issued_at(self) -> datetime | None:
        return self._record.issued_at

    @strawberry.field
    def due_at(self) -> datetime | None:
        return self._record.due_at

    @strawberry.field
    def total(self) -> Decimal:
        return self._record.total

    @strawberry.field(description="What is still to be paid.")
    def balance(self) -> Decimal:
        return self._record.balance

    @strawberry.field
    def currency(self) -> str | None:
        return self._record.currency

    @strawberry.field
    def status(self) -> InvoiceStatus:
        return InvoiceStatus(finance.invoice_status(self._record, now=self._now).value)

    @strawberry.field
    def partially_paid(self) -> bool:
        return Decimal(0) < self._record.balance < self._record.total


@strawberry.type
class Payment:
    _record: strawberry.Private[PaymentRecord]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(f"{self._record.source}:{self._record.external_id}")

    @strawberry.field
    def source(self) -> str:
        return self._record.source

    @strawberry.field
    def paid_at(self) -> datetime | None:
        return self._record.paid_at

    @strawberry.field
    def amount(self) -> Decimal:
        return self._record.amount

    @strawberry.field
    def currency(self) -> str | None:
        return self._record.currency

    @strawberry.field
    def invoice_ids(self) -> list[strawberry.ID]:
        return [strawberry.ID(f"{self._record.source}:{i}") for i in self._record.invoice_external_ids]
