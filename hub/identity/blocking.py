"""Blocking: which pairs of records are worth comparing at all.

Comparing every record with every other grows quadratically. Instead each rule derives blocking keys from
its exact criteria (records can only match under ``name_and_phone`` if they share a phone number, so the
phone number is the key) plus the first letter of each fuzzy attribute (similar names nearly always share
it), and only records sharing a key are compared. A rule with only fuzzy criteria blocks on the words of its
first fuzzy attribute. A block larger than ``max_block_size`` (a domain every record shares, a big city) is
split by the words of the rule's fuzzy attribute, or skipped when it has none, so cost stays near-linear in
the number of records.

Because a key is made of the exact criteria's values, every pair inside a block already satisfies those
criteria: the engine only checks the fuzzy ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from .attributes import Profile
from .settings import MatchRule, ResolutionSettings

_MAX_KEY_COMBINATIONS = 16
_MIN_TOKEN = 3

Key = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """How a group of rules blocks: on their shared exact criteria and the initials of their fuzzy
    attributes (or, without exact criteria, on the words of the first fuzzy attribute)."""

    exact: tuple[tuple[str, str], ...]  # (attribute, method)
    fuzzy: tuple[str, ...]

    @classmethod
    def of(cls, rule: MatchRule) -> Plan:
        exact = tuple(sorted({(c.attribute, c.method) for c in rule.criteria if c.method != "fuzzy"}))
        fuzzy = tuple(sorted({c.attribute for c in rule.criteria if c.method == "fuzzy"}))
        return cls(exact, fuzzy)

    def describe(self) -> str:
        parts = [f"{a} ({m})" for a, m in self.exact] + [f"{a} (initial)" for a in self.fuzzy]
        return " + ".join(parts) if self.exact else f"{self.fuzzy[0]} (words)"

    def keys(self, profile: Profile) -> list[Key]:
        norm = profile.norm
        if not self.exact:
            return [(token,) for token in _tokens(profile, self.fuzzy[0])]
        if len(self.exact) == 1 and not self.fuzzy and self.exact[0][1] != "exact":
            values = norm.get(self.exact[0][0])  # the common case: one normalized attribute
            return [(value,) for value in values] if values else []
        columns: list[Sequence[str]] = []
        single = True
        for attribute, method in self.exact:
            values = profile.raw(attribute) if method == "exact" else norm.get(attribute)
            if not values:
                return []
            single = single and len(values) == 1
            columns.append(tuple(values))
        for attribute in self.fuzzy:
            values = norm.get(attribute)
            if not values:
                return []
            initials = tuple({value[0] for value in values})
            single = single and len(initials) == 1
            columns.append(initials)
        if single:
            return [tuple(column[0] for column in columns)]
        return list(itertools.islice(itertools.product(*columns), _MAX_KEY_COMBINATIONS))

    def key_function(self) -> Callable[[Profile], list[Key]]:
        """``keys`` written out for the shapes the default rules have (one normalized attribute, alone or
        with a name initial): blocking calls it for every record and plan."""
        if not self.exact or any(method == "exact" for _, method in self.exact) or len(self.exact) > 1:
            return self.keys
        attribute = self.exact[0][0]
        if not self.fuzzy:

            def values_only(profile: Profile) -> list[Key]:
                values = profile.norm.get(attribute)
                return [(value,) for value in values] if values else []

            return values_only
        if len(self.fuzzy) > 1:
            return self.keys
        fuzzy = self.fuzzy[0]

        def with_initial(profile: Profile) -> list[Key]:
            norm = profile.norm
            values = norm.get(attribute)
            if not values:
                return []
            names = norm.get(fuzzy)
            if not names:
                return []
            initials = tuple({name[0] for name in names})
            if len(values) == 1 and len(initials) == 1:
                for value in values:
                    return [(value, initials[0])]
            return list(itertools.islice(itertools.product(tuple(values), initials), _MAX_KEY_COMBINATIONS))

        return with_initial


def _tokens(profile: Profile, attribute: str) -> set[str]:
    return {
        token
        for value in profile.norm.get(attribute, ())
        for token in value.split()
        if len(token) >= _MIN_TOKEN or token.isdigit()
    }


@dataclass
class BlockingStats:
    blocks: int = 0
    oversized_blocks: int = 0
    skipped_records: int = 0
    candidate_pairs: int = 0
    largest_block: int = 0
    skipped_keys: list[str] = field(default_factory=list)


class Blocker:
    def __init__(self, settings: ResolutionSettings) -> None:
        self.settings = settings
        self.stats = BlockingStats()
        #: Plans with the rank of every rule that blocks that way (``email`` and ``email_and_name`` differ
        #: by the name initial; two rules on the same criteria share one plan).
        grouped: dict[Plan, list[int]] = {}
        for rank, rule in enumerate(settings.rules):
            grouped.setdefault(Plan.of(rule), []).append(rank)
        self.plans = list(grouped.items())

    def blocks(
        self, plan: Plan, profiles: Sequence[Profile], *, only_touching: set[int] | None = None
    ) -> Iterator[list[int]]:
        """Groups of profile indices sharing a key of ``plan`` (each of size 2..max_block_size), in
        ascending index order. ``only_touching``: only blocks that contain one of these records."""
        index: dict[Key, list[int]] = {}
        get = index.get
        keys_of = plan.key_function()
        for i, profile in enumerate(profiles):
            for key in keys_of(profile):
                bucket = get(key)
                if bucket is None:
                    index[key] = [i]
                elif bucket[-1] != i:  # two values giving one key (combinations): list the record once
                    bucket.append(i)
        limit = self.settings.max_block_size
        stats = self.stats
        for key, members in index.items():
            size = len(members)
            if size < 2:
                continue
            if only_touching is not None and only_touching.isdisjoint(members):
                continue
            if size <= limit:
                stats.blocks += 1
                if size > stats.largest_block:
                    stats.largest_block = size
                yield members
                continue
            self.stats.oversized_blocks += 1
            if plan.exact and plan.fuzzy:
                yield from self._refined(plan, key, members, profiles, only_touching)
            else:
                self._skip(plan, key, members)

    def _refined(
        self,
        plan: Plan,
        key: Key,
        members: list[int],
        profiles: Sequence[Profile],
        only_touching: set[int] | None,
    ) -> Iterator[list[int]]:
        sub: dict[str, list[int]] = {}
        for i in members:
            for token in _tokens(profiles[i], plan.fuzzy[0]):
                sub.setdefault(token, []).append(i)
        for token, group in sub.items():
            if len(group) < 2 or (only_touching is not None and only_touching.isdisjoint(group)):
                continue
            if len(group) <= self.settings.max_block_size:
                yield self._counted(group)
            else:
                self._skip(plan, (*key, token), group)

    def _counted(self, members: list[int]) -> list[int]:
        self.stats.blocks += 1
        self.stats.largest_block = max(self.stats.largest_block, len(members))
        return members

    def _skip(self, plan: Plan, key: Key, members: list[int]) -> None:
        self.stats.skipped_records += len(members)
        if len(self.stats.skipped_keys) < 20:
            self.stats.skipped_keys.append(f"{plan.describe()} = {'|'.join(key)} ({len(members)} records)")
