"""Balance, invoices and payments from the accounting sources."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum

import strawberry

from adapters.sdk import Invoice as InvoiceRecord
from hub.services import finance

from .records import SourceRecord, record_field


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
class Invoice(SourceRecord):
    _record: strawberry.Private[InvoiceRecord]
    _now: strawberry.Private[datetime]

    number: str | None = record_field("number", str | None)
    issued_at: datetime | None = record_field("issued_at", datetime | None)
    due_at: datetime | None = record_field("due_at", datetime | None)
    total: Decimal = record_field("total", Decimal)
    balance: Decimal = record_field("balance", Decimal, "What is still to be paid.")
    currency: str | None = record_field("currency", str | None)

    @strawberry.field
    def status(self) -> InvoiceStatus:
        return InvoiceStatus(finance.invoice_status(self._record, now=self._now).value)

    @strawberry.field
    def partially_paid(self) -> bool:
        return Decimal(0) < self._record.balance < self._record.total


@strawberry.type
class Payment(SourceRecord):
    paid_at: datetime | None = record_field("paid_at", datetime | None)
    amount: Decimal = record_field("amount", Decimal)
    currency: str | None = record_field("currency", str | None)

    @strawberry.field
    def invoice_ids(self) -> list[strawberry.ID]:
        return [strawberry.ID(f"{self._record.source}:{i}") for i in self._record.invoice_external_ids]
