"""The sales pipeline grouped by territory, owner or close month: count, amount and weighted amount
(amount x probability) per group and currency. Sums run in SQL on integer hundredths, so they are exact."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import SQLColumnExpression, func, select

from hub.context import RequestContext

from ..errors import ValidationError
from ..models import Opportunity, OpportunityStage, SalesRep, Territory
from ..validation import currency as clean_currency
from .common import dialect_name

GROUPINGS = ("territory", "owner", "month")
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class PipelineGroup:
    key: str | None  # territory id, owner id or "YYYY-MM"; None = unassigned
    label: str
    currency: str
    count: int
    amount: Decimal
    weighted_amount: Decimal


def _month(dialect: str) -> SQLColumnExpression[Any]:
    if dialect == "sqlite":
        return func.strftime("%Y-%m", Opportunity.close_date)
    return func.to_char(Opportunity.close_date, "YYYY-MM")


async def pipeline(
    ctx: RequestContext, *, group_by: str, include_closed: bool = False, currency: str | None = None
) -> list[PipelineGroup]:
    grouping = (group_by or "").lower()
    if grouping not in GROUPINGS:
        raise ValidationError(
            f"groupBy must be one of: {', '.join(g.upper() for g in GROUPINGS)}", field="group_by"
        )
    wanted_currency = clean_currency(currency, "currency")  # a blank one filters nothing
    async with ctx.hub.db.session() as session:
        dialect = dialect_name(session)
        if grouping == "territory":
            key: SQLColumnExpression[Any] = Opportunity.territory_id
            label: SQLColumnExpression[Any] = Territory.name
        elif grouping == "owner":
            key, label = Opportunity.owner_id, SalesRep.name
        else:
            key = label = _month(dialect)
        statement = select(
            key,
            func.max(label),
            Opportunity.currency,
            func.count(),
            func.sum(Opportunity.amount_minor),
            func.sum(Opportunity.amount_minor * Opportunity.probability),
        )
        if grouping == "territory":
            statement = statement.outerjoin(Territory, Territory.id == Opportunity.territory_id)
        elif grouping == "owner":
            statement = statement.outerjoin(SalesRep, SalesRep.id == Opportunity.owner_id)
        if not include_closed:
            closed = select(OpportunityStage.name).where(OpportunityStage.is_closed.is_(True))
            statement = statement.where(Opportunity.stage.not_in(closed))
        if wanted_currency is not None:
            statement = statement.where(Opportunity.currency == wanted_currency)
        statement = statement.group_by(key, Opportunity.currency)
        rows = (await session.execute(statement)).all()
    groups = [
        PipelineGroup(
            key=row[0],
            label=row[1] or "Unassigned",
            currency=row[2],
            count=row[3],
            amount=(Decimal(int(row[4])) / 100).quantize(_CENT),
            # hundredths x percent: divide by 100 twice, round once
            weighted_amount=(Decimal(int(row[5])) / 10_000).quantize(_CENT, rounding=ROUND_HALF_EVEN),
        )
        for row in rows
    ]
    return sorted(
        groups, key=lambda g: (g.key is None, g.label if grouping != "month" else g.key or "", g.currency)
    )
