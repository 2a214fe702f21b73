"""Territory assignment rules, as pure data and pure functions.

A rule is a list of conditions on a record's attributes (country, region, city, postal-code prefix,
industry, annual revenue range...) combined with AND or OR, or with an expression such as
``(1 AND 2) OR NOT 3`` whose numbers are the 1-based condition positions. Rules are tried in ascending
``priority``; on equal priority the deeper (more specific) territory goes first, so a country rule beats
the region rule above it; the first rule that matches assigns the territory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import ValidationError
from .validation import to_decimal

TEXT_FIELDS = ("country", "region", "city", "postal_code", "industry", "territory_code")
NUMBER_FIELDS = ("annual_revenue",)
FIELDS = TEXT_FIELDS + NUMBER_FIELDS
TEXT_OPERATORS = ("equals", "not_equals", "starts_with")
NUMBER_OPERATORS = ("between",)
MAX_CONDITIONS = 20
MAX_VALUES = 500


@dataclass(frozen=True, slots=True)
class TargetAttributes:
    """What rules can look at, for a customer (from its profile) or a lead (from its own fields)."""

    country: str | None = None
    region: str | None = None
    city: str | None = None
    postal_code: str | None = None
    industry: str | None = None
    annual_revenue: Decimal | None = None
    #: The silo's own territory or region hint (``CustomerRecord.territory_code``).
    territory_code: str | None = None


def _norm(value: str) -> str:
    return " ".join(value.split()).casefold()


def _norm_postal(value: str) -> str:
    return re.sub(r"[\s-]", "", value).casefold()


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    operator: str
    values: tuple[str, ...] = ()
    minimum: Decimal | None = None
    maximum: Decimal | None = None

    def matches(self, target: TargetAttributes) -> bool:
        actual = getattr(target, self.field)
        if self.operator == "between":
            if actual is None:
                return False
            return (self.minimum is None or actual >= self.minimum) and (
                self.maximum is None or actual < self.maximum
            )
        if actual is None:
            return self.operator == "not_equals"
        if self.field == "postal_code":
            value, options = _norm_postal(actual), [_norm_postal(v) for v in self.values]
        else:
            value, options = _norm(actual), [_norm(v) for v in self.values]
        if self.operator == "equals":
            return value in options
        if self.operator == "not_equals":
            return value not in options
        return any(value.startswith(option) for option in options)

    def as_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "operator": self.operator,
            "values": list(self.values),
            "min": None if self.minimum is None else str(self.minimum),
            "max": None if self.maximum is None else str(self.maximum),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Condition:
        return cls(
            field=data["field"],
            operator=data["operator"],
            values=tuple(data.get("values") or ()),
            minimum=None if data.get("min") is None else Decimal(data["min"]),
            maximum=None if data.get("max") is None else Decimal(data["max"]),
        )


def clean_conditions(raw: Any) -> list[Condition]:
    """Validate rule conditions given as mappings (``field``, ``operator``, ``values``, ``min``, ``max``)."""
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise ValidationError("a rule needs at least one condition", field="conditions")
    if len(raw) > MAX_CONDITIONS:
        raise ValidationError(f"a rule has at most {MAX_CONDITIONS} conditions", field="conditions")
    cleaned = []
    for index, item in enumerate(raw):
        where = f"conditions[{index}]"
        if not isinstance(item, Mapping):
            raise ValidationError(f"{where} must be an object", field="conditions")
        field = str(item.get("field") or "").strip().lower()
        operator = str(item.get("operator") or "").strip().lower()
        if field not in FIELDS:
            raise ValidationError(f"{where}.field must be one of: {', '.join(FIELDS)}", field="conditions")
        allowed = NUMBER_OPERATORS if field in NUMBER_FIELDS else TEXT_OPERATORS
        if operator not in allowed:
            raise ValidationError(
                f"{where}.operator must be one of {', '.join(allowed)} for {field}", field="conditions"
            )
        if operator == "between":
            low = to_decimal(item.get("min"), "min")
            high = to_decimal(item.get("max"), "max")
            if low is None and high is None:
                raise ValidationError(f"{where} needs min, max or both", field="conditions")
            if low is not None and high is not None and low >= high:
                raise ValidationError(f"{where}.min must be below max", field="conditions")
            cleaned.append(Condition(field, operator, (), low, high))
            continue
        values = item.get("values") or ()
        if isinstance(values, str) or not isinstance(values, Sequence):
            raise ValidationError(f"{where}.values must be a list of text", field="conditions")
        texts = tuple(" ".join(str(v).split()) for v in values if str(v).strip())
        if not texts:
            raise ValidationError(f"{where}.values needs at least one value", field="conditions")
        if len(texts) > MAX_VALUES or any(len(v) > 200 for v in texts):
            raise ValidationError(
                f"{where}.values: at most {MAX_VALUES} values of 200 characters", field="conditions"
            )
        cleaned.append(Condition(field, operator, texts))
    return cleaned


# -- boolean expressions ----------------------------------------------------------------------------

Predicate = Callable[[Sequence[bool]], bool]
_TOKEN = re.compile(r"\s*(?:(\d+)|(AND|OR|NOT)\b|([()]))", re.IGNORECASE)


def _tokenize(expression: str) -> list[str]:
    tokens, position = [], 0
    expression = expression.strip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if not match or match.end() == position:
            raise ValidationError(
                f"expression: unexpected {expression[position:].strip()[:10]!r} at position {position + 1}",
                field="expression",
            )
        tokens.append(match.group(match.lastindex or 0).upper())
        position = match.end()
        while position < len(expression) and expression[position].isspace():
            position += 1
    return tokens


def _any_of(parts: Sequence[Predicate]) -> Predicate:
    return lambda results: any(part(results) for part in parts)


def _all_of(parts: Sequence[Predicate]) -> Predicate:
    return lambda results: all(part(results) for part in parts)


def parse_expression(expression: str, condition_count: int) -> Predicate:
    """Compile ``(1 AND 2) OR NOT 3``; AND binds tighter than OR. Bad syntax or numbers raise."""
    tokens = _tokenize(expression)
    if not tokens:
        raise ValidationError("expression is empty", field="expression")
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        token = peek()
        if token is None:
            raise ValidationError("expression ends too early", field="expression")
        position += 1
        return token

    def parse_or() -> Predicate:
        parts = [parse_and()]
        while peek() == "OR":
            take()
            parts.append(parse_and())
        return parts[0] if len(parts) == 1 else _any_of(parts)

    def parse_and() -> Predicate:
        parts = [parse_not()]
        while peek() == "AND":
            take()
            parts.append(parse_not())
        return parts[0] if len(parts) == 1 else _all_of(parts)

    def parse_not() -> Predicate:
        if peek() == "NOT":
            take()
            inner = parse_not()
            return lambda r: not inner(r)
        token = take()
        if token == "(":
            inner = parse_or()
            if take() != ")":
                raise ValidationError("expression: missing ')'", field="expression")
            return inner
        if not token.isdigit():
            raise ValidationError(
                f"expression: expected a condition number, got {token!r}", field="expression"
            )
        number = int(token)
        if not 1 <= number <= condition_count:
            raise ValidationError(
                f"expression refers to condition {number}, but the rule has {condition_count}",
                field="expression",
            )
        return lambda r: r[number - 1]

    predicate = parse_or()
    if position != len(tokens):
        raise ValidationError(f"expression: unexpected {tokens[position]!r}", field="expression")
    return predicate


def combine(logic: str, expression: str | None, count: int) -> Predicate:
    if expression:
        return parse_expression(expression, count)
    return all if logic == "AND" else any


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    territory_id: str
    priority: int
    depth: int
    name: str
    conditions: tuple[Condition, ...]
    predicate: Predicate

    def matches(self, target: TargetAttributes) -> bool:
        return self.predicate([condition.matches(target) for condition in self.conditions])


def order_rules(rules: Sequence[CompiledRule]) -> list[CompiledRule]:
    """Evaluation order: priority, then the more specific territory, then a stable tie-break."""
    return sorted(rules, key=lambda rule: (rule.priority, -rule.depth, rule.name, rule.id))


def first_match(ordered: Sequence[CompiledRule], target: TargetAttributes) -> CompiledRule | None:
    return next((rule for rule in ordered if rule.matches(target)), None)
