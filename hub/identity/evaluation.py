"""Scoring a clustering against an answer key: precision, recall and F1 over record pairs.

Two records form a predicted pair when they share a cluster, and a true pair when the answer key puts them
in the same real-world entity. Counting through the contingency table (cluster x entity) keeps this linear
in the number of records, however large the clusters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PairMetrics:
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def summary(self) -> str:
        return (
            f"precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}  "
            f"({self.correct_pairs}/{self.predicted_pairs} predicted pairs correct, "
            f"{self.true_pairs} true pairs)"
        )


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pair_metrics(predicted: Mapping[Any, Hashable], truth: Mapping[Any, Hashable]) -> PairMetrics:
    """``predicted`` and ``truth`` map each record to its cluster; records missing from either side are
    left out (a record the run never saw cannot be scored)."""
    records = [r for r in truth if r in predicted]
    joint = Counter((predicted[r], truth[r]) for r in records)
    by_predicted = Counter(predicted[r] for r in records)
    by_truth = Counter(truth[r] for r in records)
    return PairMetrics(
        true_pairs=sum(_pairs(n) for n in by_truth.values()),
        predicted_pairs=sum(_pairs(n) for n in by_predicted.values()),
        correct_pairs=sum(_pairs(n) for n in joint.values()),
    )
