"""The root query type."""

from __future__ import annotations

import strawberry

from hub.services import customers as service

from .context import Info
from .customer import Customer
from .relay import Connection
from .sources import Source


@strawberry.type
class Query:
    @strawberry.field(description="A customer by hub id; null (and no error) when the id is unknown.")
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        row = await service.get_customer(info.context, customer_id=str(id))
        return Customer(_row=row) if row else None

    @strawberry.field(
        description="Customers sorted by name; `search` matches part of a name, email, phone or tax id, "
        "whatever the case, accents or spacing."
    )
    async def customers(
        self, info: Info, first: int | None = None, after: str | None = None, search: str | None = None
    ) -> Connection[Customer]:
        page = await service.list_customers(info.context, first=first, after=after, search=search)
        return Connection.from_page(page, lambda row: Customer(_row=row))

    @strawberry.field(description="Every configured source with a fresh health probe.")
    async def sources(self, info: Info) -> list[Source]:
        return [Source(_status=status) for status in await info.context.hub.sources.check()]
