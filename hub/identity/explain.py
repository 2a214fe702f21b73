"""Why each record is attached to a customer: the rule, the record it matched and every criterion with the
normalized values compared and their scores, as stored by the last run (or the admin's decision)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, or_, select

from ..context import RequestContext
from ..services.customers import customer_links
from ..store.models import HubCustomer
from .attributes import RecordKey
from .rules import CriterionResult
from .tables import IdentityRecord


@dataclass(frozen=True, slots=True)
class RecordExplanation:
    source: str
    entity: str
    external_id: str
    rule: str
    score: float
    manual: bool
    linked_at: dt.datetime
    #: The record this one matched (``None`` for the customer's anchor and for records linked from outside
    #: identity resolution, e.g. a converted CRM lead).
    matched_with: RecordKey | None
    criteria: tuple[CriterionResult, ...]


async def match_explanation(ctx: RequestContext, *, customer: HubCustomer) -> list[RecordExplanation]:
    links = await customer_links(ctx, customer=customer)
    if not links:
        return []
    condition = or_(
        *(
            and_(
                IdentityRecord.source == link.source,
                IdentityRecord.entity == link.entity,
                IdentityRecord.external_id == link.external_id,
            )
            for link in links
        )
    )
    async with ctx.hub.db.session() as session:
        rows = await session.execute(
            select(
                IdentityRecord.source,
                IdentityRecord.entity,
                IdentityRecord.external_id,
                IdentityRecord.matched_source,
                IdentityRecord.matched_entity,
                IdentityRecord.matched_external_id,
                IdentityRecord.rule,
                IdentityRecord.evidence,
            ).where(condition)
        )
        evidence = {(r.source, r.entity, r.external_id): r for r in rows}
    out = []
    for link in links:
        row = evidence.get((link.source, link.entity, link.external_id))
        matched: RecordKey | None = None
        criteria: tuple[CriterionResult, ...] = ()
        # The stored evidence explains the link only while both name the same rule (a manual move after
        # the last run makes the link "manual" and the stored criteria stale).
        if row is not None and row.rule == link.rule:
            if row.matched_source and row.matched_entity and row.matched_external_id:
                matched = (row.matched_source, row.matched_entity, row.matched_external_id)
            criteria = tuple(CriterionResult.from_json(c) for c in row.evidence or ())
        out.append(
            RecordExplanation(
                source=link.source,
                entity=link.entity,
                external_id=link.external_id,
                rule=link.rule,
                score=link.score,
                manual=link.manual,
                linked_at=link.linked_at,
                matched_with=matched,
                criteria=criteria,
            )
        )
    return out
