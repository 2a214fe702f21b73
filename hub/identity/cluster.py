"""Clustering matched pairs into customers, under limits, manual decisions and merge protection.

Edges (pairs that matched a rule) are applied strongest rule first, best score first, with a union-find:

* manual merges are applied before anything else and always hold;
* a union that would put more records of one source into a customer than its limit allows (two ERP
  companies, say) is refused, and so is one that would undo a manual split;
* merge protection: within one rule, a record whose best matches point to two customers that cannot be
  merged (the same score for two ERP companies sharing a domain) is ambiguous: it joins neither of them,
  nor any customer that would rule one of them out, in that rule, rather than whichever came first. Its
  other matches still count (an ERP company matching two accounting customers on a shared ``sales@``
  mailbox still takes the help-desk organization only it matches).
* a tie between such customers is broken by the legal form when the record is a customer record (not a
  marketing member) that states one and the customers left once those stating another form are set aside
  can share a customer ("Acme Inc" between "Acme Inc." and "Acme LLC"); the record then joins no customer
  of another form in that rule.

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
        forms: Sequence[frozenset[str] | None] = (),
    ) -> None:
        self.parent = list(range(size))
        self.rank = [0] * size
        self.limits = group_limits
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
        #: Per root holding records that state a legal form: those forms.
        self.forms: dict[int, frozenset[str]] = {i: f for i, f in enumerate(forms) if f}
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
                if group in cb and count + cb[group] > self.limits[group]:
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
        moved_forms = self.forms.pop(rb, None)
        if moved_forms:
            own = self.forms.get(ra)
            self.forms[ra] = own | moved_forms if own else moved_forms
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
    forms: Sequence[frozenset[str] | None] = (),
) -> Clustering:
    """Cluster ``size`` records.

    ``edges`` are ``encode_edge`` codes of pairwise matches (sorted in place); ``groups`` are
    ``(rank, members)`` of rules whose every pair of members matches with a perfect score (a block of an
    exact-only rule: a clique, kept as one group so that a domain shared by fifty records costs fifty steps,
    not twelve hundred edges). ``limit_groups[i]`` names the limited (source, entity) group of record ``i``
    (``None``: unlimited) and ``group_limits`` each group's limit; ``forms[i]`` the legal forms record ``i``
    states (a tie-break between customers).
    """
    uf = ConstrainedUnionFind(size, limit_groups, group_limits, splits, forms)
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
        ties = _ties(uf, tier_edges, tier_groups)
        uf.stats.ambiguous_records += len(ties.undecided)
        flagged = ties.flagged
        parent = uf.parent
        for edge in tier_edges:
            a, b = edge[2], edge[3]
            # Most pairs are already together by now: tell so without calling into the union-find.
            ra, rb = parent[a], parent[b]
            if ra == rb and parent[ra] == ra:
                continue
            if _try_union(uf, a, b, ties if flagged and (a in flagged or b in flagged) else None):
                accepted.append(edge)
        for members in tier_groups:
            placed: list[int] = []
            for member in members:
                # Join the first earlier member (in block order) whose cluster may take this one.
                own = ties if flagged and member in flagged else None
                for other in placed:
                    check = own or (ties if flagged and other in flagged else None)
                    if _try_union(uf, other, member, check):
                        accepted.append((rank, 1.0, other, member))
                        break
                placed.append(member)
    uf.stats.accepted = len(accepted)
    return Clustering([find(i) for i in range(size)], accepted, uf.stats)


def _try_union(uf: ConstrainedUnionFind, a: int, b: int, ties: _Ties | None = None) -> bool:
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
    if ties is not None and ties.keeps_apart(a, b):
        return False
    uf.union(ra, rb)
    return True


class _Ties:
    """The records of one tier whose best matches lead to customers that cannot share a customer, and what
    each of them must not join in that tier."""

    def __init__(self, uf: ConstrainedUnionFind) -> None:
        self.uf = uf
        #: Records that cannot choose, with the clusters (roots at the start of the tier) they reach.
        self.undecided: dict[int, set[int]] = {}
        #: Records whose tie the legal form broke, with their forms.
        self.by_form: dict[int, frozenset[str]] = {}
        self.flagged: set[int] = set()
        self._room: dict[int, dict[int, int]] = {}
        self._undecided_roots: set[int] | None = None

    def keeps_apart(self, a: int, b: int) -> bool:
        find = self.uf.find
        return (a in self.flagged and self._refuses(a, find(b))) or (
            b in self.flagged and self._refuses(b, find(a))
        )

    def _refuses(self, record: int, target: int) -> bool:
        uf = self.uf
        if target == uf.find(record):
            return False
        forms = self.by_form.get(record)
        if forms is not None:
            # A customer stating another legal form: the form decided against it.
            stated = uf.forms.get(target)
            return stated is not None and forms.isdisjoint(stated) and target in uf.counts
        if self._undecided_roots is None:
            self._undecided_roots = {uf.find(r) for r in self.undecided}
        if target in self._undecided_roots:
            return True  # two records that each cannot choose are not joined to each other either
        # A cluster that cannot share a customer with one of the candidates would decide the tie.
        counted = uf.counts.get(target)
        if counted:
            room = self._room.get(record)
            if room is None:
                candidates = {uf.find(t) for t in self.undecided[record]}
                room = self._room[record] = _fewest(uf, _torn(uf, candidates))
            limits = uf.limits
            if any(g in counted and counted[g] + fewest > limits[g] for g, fewest in room.items()):
                return True
        return target in uf.sides and any(
            uf.why_not(target, uf.find(t)) == "split" for t in self.undecided[record]
        )


def _fewest(uf: ConstrainedUnionFind, clusters: set[int]) -> dict[int, int]:
    """Per limited group: the fewest records of it among those of ``clusters`` that hold any."""
    fewest: dict[int, int] = {}
    for cluster in clusters:
        for group, count in uf.counts.get(uf.find(cluster), {}).items():
            if count < fewest.get(group, count + 1):
                fewest[group] = count
    return fewest


def _ties(uf: ConstrainedUnionFind, tier: list[Edge], groups: list[list[int]]) -> _Ties:
    """Merge protection for one tier: records whose best matches lead to clusters that cannot be merged with
    each other, resolved by the legal form where it can be."""
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
    ties = _Ties(uf)
    forms = uf.forms
    for record, (_, targets) in best.items():
        if len(targets) < 2 or not any(
            uf.why_not(x, y) for x, y in itertools.combinations(sorted(targets), 2)
        ):
            continue
        own_root = find(record)
        own_forms = forms.get(own_root)
        # Only customer records (of limited sources) break a tie by their legal form: a marketing member
        # naming an existing company's exact name and form is as often a lead of another company.
        if own_forms and own_root in counts:
            other_form = {t for t in targets if (f := forms.get(t)) is not None and own_forms.isdisjoint(f)}
            rest = sorted(targets - other_form)
            if other_form and rest and not any(uf.why_not(x, y) for x, y in itertools.combinations(rest, 2)):
                ties.by_form[record] = own_forms
                continue
        ties.undecided[record] = targets
    ties.flagged = set(ties.by_form) | set(ties.undecided)
    return ties


def _torn(uf: ConstrainedUnionFind, targets: set[int]) -> set[int]:
    """The clusters among ``targets`` that cannot share a customer with another of them."""
    torn: set[int] = set()
    for x, y in itertools.combinations(sorted(targets), 2):
        if uf.why_not(x, y):
            torn.update((x, y))
    return torn
