"""GraphQL types explaining identity resolution: why a silo record belongs to a customer."""

from __future__ import annotations

import datetime as dt

import strawberry

from hub.identity.explain import RecordExplanation
from hub.identity.rules import CriterionResult


@strawberry.type(description="A silo record: its source, canonical entity and id there.")
class SourceRecordKey:
    source: str
    entity: str
    external_id: str


@strawberry.type(description="One criterion of the rule that matched two records.")
class MatchCriterionResult:
    attribute: str
    method: str = strawberry.field(description="exact, exact_normalized or fuzzy.")
    threshold: float | None = strawberry.field(description="The least similarity a fuzzy criterion accepts.")
    passed: bool
    score: float = strawberry.field(description="1 for an exact match; the similarity (0..1) for fuzzy.")
    value: str | None = strawberry.field(description="This record's value, normalized (raw for exact).")
    matched_value: str | None = strawberry.field(description="The matched record's value.")

    @classmethod
    def from_result(cls, result: CriterionResult) -> MatchCriterionResult:
        return cls(
            attribute=result.attribute,
            method=result.method,
            threshold=result.threshold,
            passed=result.passed,
            score=result.score,
            value=result.left,
            matched_value=result.right,
        )


@strawberry.type(description="Why one silo record is attached to the customer.")
class RecordMatch:
    source: str
    entity: str
    external_id: str
    rule: str = strawberry.field(
        description='The match rule that attached it; "seed" for the record the customer was built around, '
        '"manual" for an admin\'s merge or split.'
    )
    score: float
    manual: bool
    linked_at: dt.datetime
    matched_with: SourceRecordKey | None = strawberry.field(
        description="The record it matched (null for the customer's anchor record)."
    )
    criteria: list[MatchCriterionResult]

    @classmethod
    def from_explanation(cls, item: RecordExplanation) -> RecordMatch:
        matched = item.matched_with
        return cls(
            source=item.source,
            entity=item.entity,
            external_id=item.external_id,
            rule=item.rule,
            score=item.score,
            manual=item.manual,
            linked_at=item.linked_at,
            matched_with=SourceRecordKey(source=matched[0], entity=matched[1], external_id=matched[2])
            if matched
            else None,
            criteria=[MatchCriterionResult.from_result(c) for c in item.criteria],
        )
