"""Territory rule conditions, boolean expressions and evaluation order (pure functions, no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hub.crm.errors import ValidationError
from hub.crm.rules import (
    CompiledRule,
    Condition,
    TargetAttributes,
    clean_conditions,
    combine,
    first_match,
    order_rules,
    parse_expression,
)


def rule(
    rule_id: str,
    conditions: list[dict],
    *,
    priority: int = 100,
    depth: int = 0,
    logic: str = "AND",
    expression: str | None = None,
) -> CompiledRule:
    cleaned = tuple(clean_conditions(conditions))
    return CompiledRule(
        rule_id, f"t-{rule_id}", priority, depth, rule_id, cleaned, combine(logic, expression, len(cleaned))
    )


GERMAN_BAKERY = TargetAttributes(
    country="DE",
    region="Bayern",
    city="München",
    postal_code="80 331",
    industry="Food & Beverage",
    annual_revenue=Decimal("3000000"),
)


def test_text_conditions_ignore_case_and_spacing() -> None:
    assert Condition("country", "equals", ("de", "AT")).matches(GERMAN_BAKERY)
    assert Condition("industry", "equals", ("food  &  beverage",)).matches(GERMAN_BAKERY)
    assert not Condition("country", "not_equals", ("DE",)).matches(GERMAN_BAKERY)
    assert Condition("postal_code", "starts_with", ("803", "90")).matches(GERMAN_BAKERY)
    assert not Condition("postal_code", "starts_with", ("81",)).matches(GERMAN_BAKERY)
    # a missing attribute matches only "not equals"
    assert not Condition("city", "equals", ("Paris",)).matches(TargetAttributes())
    assert Condition("city", "not_equals", ("Paris",)).matches(TargetAttributes())


def test_revenue_range_is_half_open_and_unknown_never_matches() -> None:
    band = Condition("annual_revenue", "between", (), Decimal(1_000_000), Decimal(3_000_000))
    assert not band.matches(GERMAN_BAKERY)  # max is exclusive
    assert Condition("annual_revenue", "between", (), Decimal(3_000_000), None).matches(GERMAN_BAKERY)
    assert not Condition("annual_revenue", "between", (), None, Decimal(10)).matches(TargetAttributes())


def test_and_or_and_expressions() -> None:
    de = {"field": "country", "operator": "equals", "values": ["DE"]}
    fr = {"field": "country", "operator": "equals", "values": ["FR"]}
    food = {"field": "industry", "operator": "equals", "values": ["Food & Beverage"]}
    assert rule("a", [de, food]).matches(GERMAN_BAKERY)
    assert not rule("b", [fr, food]).matches(GERMAN_BAKERY)
    assert rule("c", [fr, food], logic="OR").matches(GERMAN_BAKERY)
    assert rule("d", [fr, de, food], expression="(1 OR 2) AND 3").matches(GERMAN_BAKERY)
    assert not rule("e", [fr, de, food], expression="1 OR 2 AND NOT 3").matches(GERMAN_BAKERY)
    assert rule("f", [fr, de, food], expression="NOT 1 AND (2 OR 3)").matches(GERMAN_BAKERY)


def test_priority_then_depth_decides() -> None:
    emea = rule("emea", [{"field": "country", "operator": "equals", "values": ["DE", "FR"]}], depth=0)
    germany = rule("germany", [{"field": "country", "operator": "equals", "values": ["DE"]}], depth=1)
    bavaria = rule("bavaria", [{"field": "region", "operator": "equals", "values": ["bayern"]}], depth=2)
    food = rule(
        "food", [{"field": "industry", "operator": "equals", "values": ["Food & Beverage"]}], priority=5
    )
    assert first_match(order_rules([emea, germany, bavaria]), GERMAN_BAKERY).id == "bavaria"
    assert first_match(order_rules([emea, germany]), GERMAN_BAKERY).id == "germany"
    assert first_match(order_rules([emea, germany, bavaria, food]), GERMAN_BAKERY).id == "food"
    assert first_match(order_rules([emea]), TargetAttributes(country="US")) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1 AND", "ends too early"),
        ("(1 OR 2", "ends too early"),
        ("(1 OR 2 3", r"missing '\)'"),
        ("1 OR 4", "refers to condition 4"),
        ("1 XOR 2", "unexpected"),
        ("1 2", "unexpected '2'"),
        ("", "empty"),
    ],
)
def test_bad_expressions_are_rejected_with_the_field(expression: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        parse_expression(expression, 3)
    assert caught.value.field == "expression" and caught.value.code == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ([], "at least one condition"),
        ([{"field": "shoe_size", "operator": "equals", "values": ["42"]}], "field must be one of"),
        ([{"field": "country", "operator": "between", "min": 1}], "operator must be one of"),
        ([{"field": "annual_revenue", "operator": "equals", "values": ["1"]}], "operator must be one of"),
        ([{"field": "country", "operator": "equals", "values": []}], "at least one value"),
        ([{"field": "country", "operator": "equals", "values": "DE"}], "must be a list"),
        ([{"field": "annual_revenue", "operator": "between"}], "needs min, max or both"),
        ([{"field": "annual_revenue", "operator": "between", "min": 5, "max": 1}], "min must be below max"),
        ([{"field": "annual_revenue", "operator": "between", "min": "lots"}], "must be a number"),
    ],
)
def test_bad_conditions_are_rejected(conditions: list[dict], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        clean_conditions(conditions)


def test_conditions_round_trip_through_json() -> None:
    (cleaned,) = clean_conditions(
        [{"field": "annual_revenue", "operator": "between", "min": "1.5", "max": None}]
    )
    assert Condition.from_json(cleaned.as_json()) == cleaned
