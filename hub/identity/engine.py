"""The matching engine: profiles in, clusters with explained attachments out. Pure and synchronous (the
async run calls it in a worker thread), so the benchmarks and tests drive it without a hub.

A full resolution compares every candidate pair the blocking yields. An incremental one is given the edges
that explained the previous clusters plus the set of changed records, and recomputes only the blocks that
contain a changed record; everything else keeps its previous evidence.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from .attributes import Profile, RecordKey
from .blocking import Blocker, BlockingStats
from .cluster import MANUAL_RANK, Clustering, ClusterStats, Edge, SplitConstraint, cluster, encode_edge
from .rules import CriterionResult, RuleSet, best_similarity
from .settings import MANUAL_RULE, SEED_RULE, ResolutionSettings


@dataclass(frozen=True, slots=True)
class KnownEdge:
    """Evidence carried over from an earlier run (or a manual decision), by record key."""

    a: RecordKey
    b: RecordKey
    rule: str
    score: float
    criteria: tuple[CriterionResult, ...] = ()


@dataclass(frozen=True, slots=True)
class ManualConstraints:
    """Admins' decisions, oldest first already reconciled: pairs that must share a customer, and splits."""

    must_link: tuple[tuple[RecordKey, RecordKey], ...] = ()
    splits: tuple[tuple[frozenset[RecordKey], frozenset[RecordKey]], ...] = ()


@dataclass(frozen=True, slots=True)
class Attachment:
    """Why a record belongs to its cluster: the record it matched and the rule that matched them."""

    matched_with: int | None
    rule: str
    score: float
    #: Oriented so that ``left`` is this record's value and ``right`` the matched record's.
    criteria: tuple[CriterionResult, ...] = ()
    manual: bool = False


@dataclass
class ResolvedCluster:
    members: list[int]
    anchor: int
    attachments: dict[int, Attachment]


@dataclass
class ResolutionStats:
    records: int = 0
    changed: int = 0
    compared_pairs: int = 0
    #: Rule matches found (a pair matching three rules counts three times).
    matched_pairs: int = 0
    carried_edges: int = 0
    clusters: int = 0
    singletons: int = 0
    seconds_blocking: float = 0.0
    seconds_scoring: float = 0.0
    seconds_clustering: float = 0.0
    blocking: BlockingStats = field(default_factory=BlockingStats)
    clustering: ClusterStats = field(default_factory=ClusterStats)
    matches_by_rule: dict[str, int] = field(default_factory=dict)


@dataclass
class Resolution:
    profiles: Sequence[Profile]
    clusters: list[ResolvedCluster]
    stats: ResolutionStats


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Resolution allocates millions of small, acyclic, short-lived objects; the cyclic garbage collector
    would rescan them again and again (a third of the run time at 100k records)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _flipped(criteria: Iterable[CriterionResult]) -> tuple[CriterionResult, ...]:
    return tuple(
        CriterionResult(c.attribute, c.method, c.threshold, c.passed, c.score, c.right, c.left)
        for c in criteria
    )


class Engine:
    def __init__(self, settings: ResolutionSettings, *, source_order: Sequence[str] = ()) -> None:
        self.settings = settings
        self.rules = RuleSet(settings.rules)
        self.blocker = Blocker(settings)
        #: Sources in anchor priority: a cluster's anchor is its first record by this order.
        self.source_order = {name: i for i, name in enumerate(source_order)}

    def resolve(
        self,
        profiles: Sequence[Profile],
        *,
        changed: set[int] | None = None,
        known_edges: Sequence[KnownEdge] = (),
        manual: ManualConstraints | None = None,
        anchor_rank: Callable[[int], tuple[object, ...]] | None = None,
    ) -> Resolution:
        """Cluster ``profiles``. With ``changed`` (indices), only blocks touching those records are compared
        and ``known_edges`` stand in for the rest."""
        with collector_paused():
            return self._resolve(profiles, changed, known_edges, manual, anchor_rank)

    def _resolve(
        self,
        profiles: Sequence[Profile],
        changed: set[int] | None,
        known_edges: Sequence[KnownEdge],
        manual: ManualConstraints | None,
        anchor_rank: Callable[[int], tuple[object, ...]] | None,
    ) -> Resolution:
        stats = ResolutionStats(records=len(profiles), changed=len(changed) if changed is not None else 0)
        index = {p.key: i for i, p in enumerate(profiles)}
        limit_groups, group_limits = self._limit_groups(profiles)

        started = time.perf_counter()
        # Records of a source limited to one per customer can never be linked to each other: skip those pairs.
        never_together = [g if g is not None and group_limits[g] == 1 else None for g in limit_groups]
        rules = self.rules.rules
        fuzzy_of = [
            tuple((c.attribute, c.threshold or 1.0) for c in rule.criteria if c.method == "fuzzy")
            for rule in rules
        ]
        similarities: dict[str, dict[int, float]] = {}
        # Every compared pair, needed only to tell carried-over evidence from recomputed evidence.
        compared: set[int] | None = set() if known_edges else None
        edges: list[int] = []
        groups: list[tuple[int, list[int]]] = []
        by_rule = [0] * len(rules)
        compared_pairs = 0
        self.blocker.stats = BlockingStats()
        for plan, ranks in self.blocker.plans:
            exact_ranks = [r for r in ranks if not fuzzy_of[r]]
            fuzzy_ranks = [r for r in ranks if fuzzy_of[r]]
            seen: set[int] = set()
            for block in self.blocker.blocks(plan, profiles, only_touching=changed):
                # Inside a block the exact criteria hold by construction: rules without fuzzy criteria
                # match every pair of it (kept as one group), the others need their fuzzy scores.
                for rank in exact_ranks:
                    groups.append((rank, block))
                    by_rule[rank] += len(block) - 1
                if not fuzzy_ranks and compared is None:
                    continue
                for x, i in enumerate(block):
                    group = never_together[i]
                    base = i << 32
                    for j in block[x + 1 :]:
                        if group is not None and never_together[j] == group:
                            continue
                        code = base | j
                        if code in seen:
                            continue
                        seen.add(code)
                        for rank in fuzzy_ranks:
                            score = 1.0
                            for attribute, threshold in fuzzy_of[rank]:
                                cache = similarities.get(attribute)
                                if cache is None:
                                    cache = similarities[attribute] = {}
                                value = cache.get(code)
                                if value is None:
                                    value = cache[code] = best_similarity(
                                        attribute,
                                        profiles[i].norm.get(attribute),
                                        profiles[j].norm.get(attribute),
                                    )
                                if value < threshold:
                                    break
                                score = min(score, value)
                            else:
                                edges.append(encode_edge(rank, score, i, j))
                                by_rule[rank] += 1
            compared_pairs += len(seen)
            if compared is not None:
                compared |= seen
        stats.blocking = self.blocker.stats
        stats.blocking.candidate_pairs = stats.compared_pairs = compared_pairs
        stats.matched_pairs = sum(by_rule)
        stats.matches_by_rule = {rule.name: n for rule, n in zip(rules, by_rule, strict=True) if n}
        stats.seconds_scoring = time.perf_counter() - started
        started = time.perf_counter()
        carried: dict[tuple[int, int], KnownEdge] = {}
        for known in known_edges:
            a, b = index.get(known.a), index.get(known.b)
            if a is None or b is None or known.rule in (SEED_RULE, MANUAL_RULE):
                continue
            if changed is not None and (a in changed or b in changed):
                continue  # recomputed above from the records' current values
            rank = self.rules.rank_of(known.rule)
            if rank >= len(self.rules.rules):
                continue  # the rule is gone from the config
            lo, hi = min(a, b), max(a, b)
            if compared is not None and (lo << 32 | hi) in compared:
                continue
            edges.append(encode_edge(rank, known.score, lo, hi))
            carried[(lo, hi)] = known
        stats.carried_edges = len(carried)
        stats.seconds_scoring += time.perf_counter() - started

        started = time.perf_counter()
        must, splits = self._manual(manual, index)
        clustering = cluster(
            len(profiles),
            edges,
            limit_groups=limit_groups,
            group_limits=group_limits,
            groups=groups,
            must_link=must,
            splits=splits,
            forms=[p.norm.get("legal_form") for p in profiles],
        )
        clusters = self._explain(profiles, clustering, carried, anchor_rank)
        stats.clustering = clustering.stats
        stats.clusters = len(clusters)
        stats.singletons = sum(1 for c in clusters if len(c.members) == 1)
        stats.seconds_clustering = time.perf_counter() - started
        return Resolution(profiles, clusters, stats)

    # -- helpers -------------------------------------------------------------------------------------

    def _limit_groups(self, profiles: Sequence[Profile]) -> tuple[list[int | None], dict[int, int]]:
        groups: dict[tuple[str, str], int] = {}
        limits: dict[int, int] = {}
        out: list[int | None] = []
        for profile in profiles:
            limit = self.settings.limit_for(profile.source, profile.entity)
            if limit is None:
                out.append(None)
                continue
            group = groups.setdefault((profile.source, profile.entity), len(groups))
            limits[group] = limit
            out.append(group)
        return out, limits

    @staticmethod
    def _manual(
        manual: ManualConstraints | None, index: dict[RecordKey, int]
    ) -> tuple[list[tuple[int, int]], list[SplitConstraint]]:
        if manual is None:
            return [], []
        must = [(index[a], index[b]) for a, b in manual.must_link if a in index and b in index]
        splits = []
        for left, right in manual.splits:
            lhs = frozenset(index[k] for k in left if k in index)
            rhs = frozenset(index[k] for k in right if k in index)
            if lhs and rhs:
                splits.append(SplitConstraint(lhs, rhs))
        return must, splits

    def _default_anchor_rank(self, profiles: Sequence[Profile]) -> Callable[[int], tuple[object, ...]]:
        order = self.source_order
        unknown = len(order)

        def rank(i: int) -> tuple[object, ...]:
            p = profiles[i]
            return (
                order.get(p.source, unknown),
                p.entity != "customer",
                p.source,
                len(p.external_id),
                p.external_id,
            )

        return rank

    def _explain(
        self,
        profiles: Sequence[Profile],
        clustering: Clustering,
        carried: dict[tuple[int, int], KnownEdge],
        anchor_rank: Callable[[int], tuple[object, ...]] | None,
    ) -> list[ResolvedCluster]:
        rank = anchor_rank or self._default_anchor_rank(profiles)
        neighbours: dict[int, list[tuple[int, Edge]]] = {}
        for edge in clustering.accepted:
            neighbours.setdefault(edge[2], []).append((edge[3], edge))
            neighbours.setdefault(edge[3], []).append((edge[2], edge))
        clusters = []
        for members in clustering.groups().values():
            if len(members) == 1:
                only = members[0]
                clusters.append(ResolvedCluster(members, only, {only: Attachment(None, SEED_RULE, 1.0)}))
                continue
            ranks = {i: rank(i) for i in members}
            ordered = sorted(members, key=ranks.__getitem__)
            anchor = ordered[0]
            attachments = {anchor: Attachment(None, SEED_RULE, 1.0)}
            queue = deque([anchor])
            while queue:
                node = queue.popleft()
                for other, edge in neighbours.get(node, ()):
                    if other not in attachments:
                        attachments[other] = self._attachment(profiles, other, node, edge, carried)
                        queue.append(other)
            clusters.append(ResolvedCluster(ordered, anchor, attachments))
        return clusters

    def _attachment(
        self,
        profiles: Sequence[Profile],
        child: int,
        parent: int,
        edge: Edge,
        carried: dict[tuple[int, int], KnownEdge],
    ) -> Attachment:
        rank, score, a, b = edge
        if rank == MANUAL_RANK:
            return Attachment(parent, MANUAL_RULE, 1.0, (), manual=True)
        known = carried.get((a, b))
        if known is not None:
            # Evidence from the earlier run, stored oriented from the record it explains.
            criteria = known.criteria
            if (known.a, known.b) != (profiles[child].key, profiles[parent].key):
                criteria = _flipped(criteria)
            return Attachment(parent, known.rule, known.score, criteria)
        rule = self.rules.rules[rank]
        criteria = self.rules.explain(rule.name, profiles[child], profiles[parent])
        return Attachment(parent, rule.name, score, criteria)
