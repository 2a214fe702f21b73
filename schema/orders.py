"""Orders, their lines and products, as the ERP sources provide them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from adapters.sdk import Order as OrderRecord
from adapters.sdk import OrderLine as OrderLineRecord
from hub.services import customers as service

from .context import Info
from .records import SourceRecord, record_field


@strawberry.type
class Product(SourceRecord):
    name: str = record_field("name", str)
    sku: str | None = record_field("sku", str | None)
    category: str | None = record_field("category", str | None)
    unit_price: Decimal | None = record_field("unit_price", Decimal | None)
    currency: str | None = record_field("currency", str | None)


@strawberry.type
class OrderLine(SourceRecord):
    _record: strawberry.Private[OrderLineRecord]

    description: str | None = record_field("description", str | None)
    quantity: Decimal = record_field("quantity", Decimal)
    unit_price: Decimal = record_field("unit_price", Decimal)
    discount: Decimal = record_field("discount", Decimal)
    amount: Decimal | None = record_field("amount", Decimal | None)

    @strawberry.field
    async def product(self, info: Info) -> Product | None:
        if self._record.product_external_id is None:
            return None
        (found,) = await service.products(
            info.context, source=self._record.source, external_ids=[self._record.product_external_id]
        )
        return Product(_record=found) if found else None


@strawberry.type
class Order(SourceRecord):
    _record: strawberry.Private[OrderRecord]

    number: str | None = record_field("number", str | None)
    ordered_at: datetime | None = record_field("ordered_at", datetime | None)
    status: str | None = record_field("status", str | None)
    currency: str | None = record_field("currency", str | None)
    total: Decimal | None = record_field("total", Decimal | None)
    sales_rep: str | None = record_field("sales_rep", str | None)

    @strawberry.field
    async def lines(self, info: Info) -> list[OrderLine]:
        return [
            OrderLine(_record=line) for line in await service.order_lines(info.context, order=self._record)
        ]
