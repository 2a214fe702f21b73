"""Evaluating match rules on a pair of profiles, with the evidence that explains the outcome.

``exact`` compares the values as the silos wrote them (trimmed), ``exact_normalized`` their normalized forms,
``fuzzy`` the best similarity (RapidFuzz, 0..1) between any two normalized values against the threshold.
A criterion over an attribute either record lacks never holds: blanks never match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from .attributes import Profile
from .settings import MatchCriterion, MatchRule

Scorer = Callable[[str, str], float]

#: Names are compared ignoring word order ("Automatyka Odra" / "Odra Automatyka"); other text as is.
_SCORERS: dict[str, Scorer] = {"company_name": fuzz.token_sort_ratio}


def similarity(attribute: str, left: str, right: str) -> float:
    if left == right:
        return 1.0
    return _SCORERS.get(attribute, fuzz.ratio)(left, right) / 100.0


@dataclass(frozen=True, slots=True)
class CriterionResult:
    attribute: str
    method: str
    threshold: float | None
    passed: bool
    score: float
    #: The compared values (normalized, or raw for ``exact``) that gave the score.
    left: str | None
    right: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "attribute": self.attribute,
            "method": self.method,
            "threshold": self.threshold,
            "passed": self.passed,
            "score": round(self.score, 4),
            "left": self.left,
            "right": self.right,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> CriterionResult:
        threshold = data.get("threshold")
        return cls(
            attribute=str(data["attribute"]),
            method=str(data["method"]),
            threshold=float(threshold) if isinstance(threshold, int | float) else None,
            passed=bool(data["passed"]),
            score=float(data["score"]),  # type: ignore[arg-type]
            left=None if data.get("left") is None else str(data["left"]),
            right=None if data.get("right") is None else str(data["right"]),
        )


@dataclass(frozen=True, slots=True)
class RuleMatch:
    rule: str
    #: Index of the rule in the ruleset: lower is stronger.
    rank: int
    #: The weakest criterion's score: a link is only as sure as its least certain criterion.
    score: float
    criteria: tuple[CriterionResult, ...]


def evaluate_criterion(criterion: MatchCriterion, a: Profile, b: Profile) -> CriterionResult:
    attribute, method = criterion.attribute, criterion.method
    if method == "exact":
        left_values, right_values = a.raw(attribute), b.raw(attribute)
    else:
        left_values, right_values = a.normalized(attribute), b.normalized(attribute)
    if not left_values or not right_values:
        return CriterionResult(attribute, method, criterion.threshold, False, 0.0, None, None)
    shared = left_values & right_values
    if shared:
        value = min(shared)
        return CriterionResult(attribute, method, criterion.threshold, True, 1.0, value, value)
    if method != "fuzzy":
        return CriterionResult(
            attribute, method, criterion.threshold, False, 0.0, min(left_values), min(right_values)
        )
    best, best_pair = -1.0, ("", "")
    for left in left_values:
        for right in right_values:
            score = similarity(attribute, left, right)
            if score > best:
                best, best_pair = score, (left, right)
    threshold = criterion.threshold or 1.0
    return CriterionResult(attribute, method, threshold, best >= threshold, best, *best_pair)


class RuleSet:
    """An OR of rules, strongest first."""

    def __init__(self, rules: Sequence[MatchRule]) -> None:
        if not rules:
            raise ValueError("identity resolution needs at least one match rule")
        self.rules = tuple(rules)
        # Exact criteria become bits of a mask computed once per pair; fuzzy ones are scored lazily, once
        # per attribute, and shared by every rule that reads them (with their own thresholds).
        exact: dict[tuple[str, str], int] = {}
        fuzzy: dict[str, int] = {}
        compiled: list[tuple[int, tuple[tuple[int, str, float], ...]]] = []
        for rule in self.rules:
            mask = 0
            fuzzy_criteria = []
            for c in rule.criteria:
                if c.method == "fuzzy":
                    slot = fuzzy.setdefault(c.attribute, len(fuzzy))
                    fuzzy_criteria.append((slot, c.attribute, c.threshold or 1.0))
                else:
                    mask |= 1 << exact.setdefault((c.attribute, c.method), len(exact))
            compiled.append((mask, tuple(fuzzy_criteria)))
        self._exact = tuple(exact)
        self._fuzzy_count = len(fuzzy)
        self._compiled = compiled

    def rank_of(self, name: str) -> int:
        for rank, rule in enumerate(self.rules):
            if rule.name == name:
                return rank
        return len(self.rules)

    def matches(self, a: Profile, b: Profile) -> list[tuple[int, float]]:
        """Every rule the pair satisfies, as ``(rank, score)``, strongest first.

        The hot loop of identity resolution. The values that explain a match are worked out later, only for
        the matches that end up linking records (``explain``).
        """
        a_norm, b_norm = a.norm, b.norm
        held = 0
        for bit, (attribute, method) in enumerate(self._exact):
            left: frozenset[str] | None
            right: frozenset[str] | None
            if method == "exact":
                left, right = a.raw(attribute), b.raw(attribute)
            else:
                left, right = a_norm.get(attribute), b_norm.get(attribute)
            if left and right and not left.isdisjoint(right):
                held |= 1 << bit
        scores: list[float | None] = [None] * self._fuzzy_count
        found: list[tuple[int, float]] = []
        for rank, (mask, fuzzy_criteria) in enumerate(self._compiled):
            if held & mask != mask:
                continue
            score = 1.0
            for slot, attribute, threshold in fuzzy_criteria:
                value = scores[slot]
                if value is None:
                    value = scores[slot] = best_similarity(
                        attribute, a_norm.get(attribute), b_norm.get(attribute)
                    )
                if value < threshold:
                    break
                if value < score:
                    score = value
            else:
                found.append((rank, score))
        return found

    def first_match(self, a: Profile, b: Profile) -> RuleMatch | None:
        """The strongest rule the pair satisfies, or ``None``."""
        found = self.matches(a, b)
        if not found:
            return None
        rank, score = found[0]
        rule = self.rules[rank]
        return RuleMatch(rule.name, rank, score, self.explain(rule.name, a, b))

    def explain(self, rule_name: str, a: Profile, b: Profile) -> tuple[CriterionResult, ...]:
        """Every criterion of ``rule_name`` evaluated on the pair (passed or not)."""
        for rule in self.rules:
            if rule.name == rule_name:
                return tuple(evaluate_criterion(c, a, b) for c in rule.criteria)
        return ()


def best_similarity(attribute: str, left: frozenset[str] | None, right: frozenset[str] | None) -> float:
    if not left or not right:
        return 0.0
    if not left.isdisjoint(right):
        return 1.0
    return max(similarity(attribute, x, y) for x in left for y in right)
