"""Per-request DataLoaders for CRM records that GraphQL resolves per item (owners, territories, members,
rules, competitors), so a page of N items costs one query per relation, not N."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from hub.context import RequestContext
from hub.hub import Hub

from .models import CompetitorNote, CustomerTerritory, SalesRep, Territory, TerritoryMember, TerritoryRule

RowT = TypeVar("RowT")
_KEY = "crm.loaders"


class CrmLoaders:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self.reps: DataLoader[str, SalesRep | None] = DataLoader(self._by_id(SalesRep, SalesRep.id))
        self.territories: DataLoader[str, Territory | None] = DataLoader(self._by_id(Territory, Territory.id))
        self.customer_territories: DataLoader[str, CustomerTerritory | None] = DataLoader(
            self._by_id(CustomerTerritory, CustomerTerritory.hub_customer_id)
        )
        self.members: DataLoader[str, list[TerritoryMember]] = DataLoader(
            self._grouped(
                TerritoryMember, TerritoryMember.territory_id, TerritoryMember.role, TerritoryMember.id
            )
        )
        self.rules: DataLoader[str, list[TerritoryRule]] = DataLoader(
            self._grouped(TerritoryRule, TerritoryRule.territory_id, TerritoryRule.priority, TerritoryRule.id)
        )
        self.children: DataLoader[str, list[Territory]] = DataLoader(
            self._grouped(Territory, Territory.parent_id, Territory.name, Territory.id)
        )
        self.competitors: DataLoader[str, list[str]] = DataLoader(self._competitors)

    def _by_id(self, model: type[RowT], key: Any) -> Callable[[Sequence[str]], Any]:
        async def load(ids: Sequence[str]) -> list[RowT | None]:
            async with self._hub.db.session() as session:
                rows = await session.scalars(select(model).where(key.in_(set(ids))))
                found = {getattr(row, key.key): row for row in rows}
            return [found.get(i) for i in ids]

        return load

    def _grouped(self, model: type[RowT], key: Any, *order: Any) -> Callable[[Sequence[str]], Any]:
        async def load(ids: Sequence[str]) -> list[list[RowT]]:
            async with self._hub.db.session() as session:
                rows = await session.scalars(select(model).where(key.in_(set(ids))).order_by(*order))
                grouped: dict[str, list[RowT]] = {}
                for row in rows:
                    grouped.setdefault(getattr(row, key.key), []).append(row)
            return [grouped.get(i, []) for i in ids]

        return load

    async def _competitors(self, ids: Sequence[str]) -> list[list[str]]:
        async with self._hub.db.session() as session:
            rows = await session.execute(
                select(CompetitorNote.opportunity_id, CompetitorNote.competitor)
                .where(CompetitorNote.opportunity_id.in_(set(ids)))
                .order_by(CompetitorNote.competitor)
            )
            grouped: dict[str, list[str]] = {}
            for opportunity_id, competitor in rows:
                if opportunity_id is None:
                    continue
                names = grouped.setdefault(opportunity_id, [])
                if competitor not in names:
                    names.append(competitor)
        return [grouped.get(i, []) for i in ids]


def crm_loaders(ctx: RequestContext) -> CrmLoaders:
    loaders = ctx.extra.get(_KEY)
    if loaders is None:
        loaders = ctx.extra[_KEY] = CrmLoaders(ctx.hub)
    return loaders
