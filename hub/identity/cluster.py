"""Clustering matched pairs into customers, under limits, manual decisions and merge protection.

Edges (pairs that matched a rule) are applied strongest rule first, best score first, with a union-find:

* manual merges are applied before anything else and always hold;
* a union that would put more records of one source into a customer than its limit allows (two ERP
  companies, say) is refused, and so is one that would undo a manual split;
* merge protection: within one rule, a record whose best matches point to two customers that cannot be
  merged (the same score for two ERP companies sharing a domain) is ambiguous and left out of that rule,
  rather than attached to whichever came first.

The accepted edges form a spanning forest: each record's path to its cluster's anchor is its explanation.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

_EPSILON = 1e-9


Edge = tuple[int, float, int, int]
"""``(rank, score, a, b)``: records ``a`` and ``b`` match under the rule of that rank with that score.
Manual merges use rank ``MANUAL_RANK``."""
MANUAL_RANK = -1

# Edges travel as one integer each, ordered as they must be applied: strongest rule, best score, then the
# records (for a deterministic result). Sorting a few hundred thousand ints is ten times faster than tuples.
_RECORD_BITS = 32
_SCORE_STEPS = 1_000_000
_SCORE_BITS = 20
_RECORD_MASK = (1 << _RECORD_BITS) - 1
#: ``rank << RANK_SHIFT | a << 32 | b`` is the code of a perfect-score edge.
RANK_SHIFT = 2 * _RECORD_BITS + _SCORE_BITS
_SCORE_MASK = (1 << _SCORE_BITS) - 1


def encode_edge(rank: int, score: float, a: int, b: int) -> int:
    loss = round((1.0 - min(max(score, 0.0), 1.0)) * _SCORE_STEPS)
    return (((rank << _SCORE_BITS | loss) << _RECORD_BITS | a) << _RECORD_BITS) | b


def decode_edge(code: int) -> Edge:
    b = code & _RECORD_MASK
    a = (code >> _RECORD_BITS) & _RECORD_MASK
    loss = (code >> 2 * _RECORD_BITS) & _SCORE_MASK
    rank = code >> (2 * _RECORD_BITS + _SCORE_BITS)
    return rank, 1.0 - loss / _SCORE_STEPS, a, b


def _rank_of(code: int) -> int:
    return code >> (2 * _RECORD_BITS + _SCORE_BITS)


@dataclass
class SplitConstraint:
    """Records on one side must never share a customer with records on the other."""

    left: frozenset[int]
    right: frozenset[int]


@dataclass
class ClusterStats:
    edges: int = 0
    accepted: int = 0
    refused_by_limit: int = 0
    refused_by_split: int = 0
    ambiguous_records: int = 0


class ConstrainedUnionFind:
    def __init__(
        self,
        size: int,
        limit_groups: Sequence[int | None],
        group_limits: dict[int, int],
        splits: Sequence[SplitConstraint] = (),
    ) -> None:
        self.parent = list(range(size))
        self.rank = [0] * size
        self._limits = group_limits
        # Per root: how many records of each limited group, and which side of each split it is on.
        self.counts: dict[int, dict[int, int]] = {}
        self.sides: dict[int, dict[int, int]] = {}
        for i, group in enumerate(limit_groups):
            if group is not None:
                self.counts[i] = {group: 1}
        for number, split in enumerate(splits):
            for i in split.left:
                self.sides.setdefault(i, {})[number] = 0
            for i in split.right:
                self.sides.setdefault(i, {})[number] = 1
        self.stats = ClusterStats()

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def why_not(self, ra: int, rb: int) -> str | None:
        """``None`` when the two clusters may merge, else ``"limit"`` or ``"split"``."""
        if ra == rb:
            return None
        ca, cb = self.counts.get(ra), self.counts.get(rb)
        if ca and cb:
            for group, count in ca.items():
                if group in cb and count + cb[group] > self._limits[group]:
                    return "limit"
        sa, sb = self.sides.get(ra), self.sides.get(rb)
        if sa and sb:
            for number, side in sa.items():
                if sb.get(number, side) != side:
                    return "split"
        return None

    def union(self, ra: int, rb: int) -> int:
        if self.rank[ra] < self.rank[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        if self.rank[ra] == self.rank[rb]:
            self.rank[ra] += 1
        for table in (self.counts, self.sides):
            moved = table.pop(rb, None)
            if moved:
                into = table.setdefault(ra, {})
                if table is self.counts:
                    for group, count in moved.items():
                        into[group] = into.get(group, 0) + count
                else:
                    into.update(moved)
        return ra


@dataclass
class Clustering:
    #: Cluster of each record: the root index (same root = same customer).
    roots: list[int]
    #: Edges that joined clusters: a spanning forest.
    accepted: list[Edge]
    stats: ClusterStats = field(default_factory=ClusterStats)

    def groups(self) -> dict[int, list[int]]:
        grouped: dict[int, list[int]] = {}
        for i, root in enumerate(self.roots):
            grouped.setdefault(root, []).append(i)
        return grouped


def cluster(
    size: int,
    edges: list[int],
    *,
    limit_groups: Sequence[int | None],
    group_limits: dict[int, int],
    groups: Sequence[tuple[int, list[int]]] = (),
    must_link: Sequence[tuple[int, int]] = (),
    splits: Sequence[SplitConstraint] = (),
) -> Clustering:
    """Cluster ``size`` records.

    ``edges`` are ``encode_edge`` codes of pairwise matches (sorted in place); ``groups`` are
    ``(rank, members)`` of rules whose every pair of members matches with a perfect score (a block of an
    exact-only rule: a clique, kept as one group so that a domain shared by fifty records costs fifty steps,
    not twelve hundred edges). ``limit_groups[i]`` names the limited (source, entity) group of record ``i``
    (``None``: unlimited) and ``group_limits`` each group's limit.
    """
    uf = ConstrainedUnionFind(size, limit_groups, group_limits, splits)
    find = uf.find
    accepted: list[Edge] = []
    for a, b in must_link:
        ra, rb = find(a), find(b)
        if ra != rb:
            uf.union(ra, rb)
            accepted.append((MANUAL_RANK, 1.0, a, b))
    edges.sort()
    uf.stats.edges = len(edges) + sum(len(members) - 1 for _, members in groups)
    pairwise = {rank: list(tier) for rank, tier in itertools.groupby(edges, key=_rank_of)}
    grouped: dict[int, list[list[int]]] = {}
    for rank, members in groups:
        grouped.setdefault(rank, []).append(members)
    for rank in sorted(set(pairwise) | set(grouped)):
        tier_edges = list(map(decode_edge, pairwise.get(rank, ())))
        tier_groups = grouped.get(rank, [])
        ambiguous = _ambiguous(uf, tier_edges, tier_groups)
        uf.stats.ambiguous_records += len(ambiguous)
        parent = uf.parent
        for edge in tier_edges:
            a, b = edge[2], edge[3]
            if ambiguous and (a in ambiguous or b in ambiguous):
                continue
            # Most pairs are already together by now: tell so without calling into the union-find.
            ra, rb = parent[a], parent[b]
            if ra == rb and parent[ra] == ra:
                continue
            if _try_union(uf, a, b):
                accepted.append(edge)
        for members in tier_groups:
            placed: list[int] = []
            for member in members:
                if member in ambiguous:
                    continue
                # Join the first earlier member (in block order) whose cluster may take this one.
                for other in placed:
                    if _try_union(uf, other, member):
                        accepted.append((rank, 1.0, other, member))
                        break
                placed.append(member)
    uf.stats.accepted = len(accepted)
    return Clustering([find(i) for i in range(size)], accepted, uf.stats)


def _try_union(uf: ConstrainedUnionFind, a: int, b: int) -> bool:
    ra, rb = uf.find(a), uf.find(b)
    if ra == rb:
        return False
    reason = uf.why_not(ra, rb)
    if reason == "limit":
        uf.stats.refused_by_limit += 1
        return False
    if reason == "split":
        uf.stats.refused_by_split += 1
        return False
    uf.union(ra, rb)
    return True


def _ambiguous(uf: ConstrainedUnionFind, tier: list[Edge], groups: list[list[int]]) -> set[int]:
    """Records whose best matches in this tier lead to clusters that cannot be merged with each other."""
    find, parent, counts, sides = uf.find, uf.parent, uf.counts, uf.sides
    # Per record: its best score in this tier and the constrained clusters reached with it. Only clusters
    # holding limited records or split sides can ever be incompatible. (The hot loop of clustering: the
    # lookups are written out rather than calling helpers.)
    best: dict[int, tuple[float, set[int]]] = {}
    best_get = best.get
    for _, score, a, b in tier:
        ra = parent[a]
        if parent[ra] != ra:
            ra = find(a)
        rb = parent[b]
        if parent[rb] != rb:
            rb = find(b)
        if ra == rb:
            continue
        if rb in counts or rb in sides:
            current = best_get(a)
            if current is None or score > current[0] + _EPSILON:
                best[a] = (score, {rb})
            elif abs(score - current[0]) <= _EPSILON:
                current[1].add(rb)
        if ra in counts or ra in sides:
            current = best_get(b)
            if current is None or score > current[0] + _EPSILON:
                best[b] = (score, {ra})
            elif abs(score - current[0]) <= _EPSILON:
                current[1].add(ra)
    for members in groups:
        roots = [find(m) for m in members]
        constrained = {r for r in roots if r in counts or r in sides}
        if len(constrained) < 2:
            continue  # every member sees at most one constrained cluster through this block
        for member, own in zip(members, roots, strict=True):
            # Every other constrained cluster of the block, at a perfect score.
            targets = constrained - {own}
            current = best_get(member)
            if current is None or current[0] + _EPSILON < 1.0:
                best[member] = (1.0, targets)
            elif abs(1.0 - current[0]) <= _EPSILON:
                current[1].update(targets)
    ambiguous: set[int] = set()
    for record, (_, targets) in best.items():
        if len(targets) < 2:
            continue
        if any(uf.why_not(x, y) for x, y in itertools.combinations(sorted(targets), 2)):
            ambiguous.add(record)
    return ambiguous
