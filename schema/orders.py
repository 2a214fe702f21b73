"""Orders, their lines and products, as the ERP sources provide them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from adapters.sdk import Order as OrderRecord
from adapters.sdk import OrderLine as OrderLineRecord
from adapters.sdk import Product as ProductRecord
from hub.services import customers as service

from .context import Info


@strawberry.type
class Product:
    _record: strawberry.Private[ProductRecord]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(f"{self._record.source}:{self._record.external_id}")

    @strawberry.field
    def source(self) -> str:
        return self._record.source

    @strawberry.field
    def external_id(self) -> str:
        return self._record.external_id

    @strawberry.field
    def name(self) -> str:
        return self._record.name

    @strawberry.field
    def sku(self) -> str | None:
        return self._record.sku

    @strawberry.field
    def category(self) -> str | None:
        return self._record.category

    @strawberry.field
    def unit_price(self) -> Decimal | None:
        return self._record.unit_price


@strawberry.type
class OrderLine:
    _record: strawberry.Private[OrderLineRecord]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(f"{self._record.source}:{self._record.external_id}")

    @strawberry.field
    def description(self) -> str | None:
        return self._record.description

    @strawberry.field
    def quantity(self) -> Decimal:
        return self._record.quantity

    @strawberry.field
    def unit_price(self) -> Decimal:
        return self._record.unit_price

    @strawberry.field
    def discount(self) -> Decimal:
        return self._record.discount

    @strawberry.field
    def amount(self) -> Decimal | None:
        return self._record.amount

    @strawberry.field
    async def product(self, info: Info) -> Product | None:
        if self._record.product_external_id is None:
            return None
        (found,) = await service.products(
            info.context, source=self._record.source, external_ids=[self._record.product_external_id]
        )
        return Product(_record=found) if found else None


@strawberry.type
class Order:
    _record: strawberry.Private[OrderRecord]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(f"{self._record.source}:{self._record.external_id}")

    @strawberry.field
    def source(self) -> str:
        return self._record.source

    @strawberry.field
    def external_id(self) -> str:
        return self._record.external_id

    @strawberry.field
    def number(self) -> str | None:
        return self._record.number

    @strawberry.field
    def ordered_at(self) -> datetime | None:
        return self._record.ordered_at

    @strawberry.field
    def status(self) -> str | None:
        return self._record.status

    @strawberry.field
    def currency(self) -> str | None:
        return self._record.currency

    @strawberry.field
    def total(self) -> Decimal | None:
        return self._record.total

    @strawberry.field
    def sales_rep(self) -> str | None:
        return self._record.sales_rep

    @strawberry.field
    async def lines(self, info: Info) -> list[OrderLine]:
        return [
            OrderLine(_record=line) for line in await service.order_lines(info.context, order=self._record)
        ]
