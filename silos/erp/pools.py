"""Per-locale pools of person and street names, drawn from Faker once and then picked from with a record's
own ``random.Random``.

Calling Faker per record would be far too slow for 100k companies, and seeding Faker per record would tie a
record's values to Faker's call sequence. A pool is drawn with a fixed seed, so it is identical in every
process (for a given Faker version, which is why the database metadata records that version).
"""

from __future__ import annotations

import functools
import hashlib
import random
from dataclasses import dataclass
from typing import TypeVar

from faker import Faker

T = TypeVar("T")

_POOL_SEED = 20250101
_PERSON_POOL = 250
_STREET_POOL = 400


@dataclass(frozen=True, slots=True)
class LocalePool:
    locale: str
    male_first: tuple[str, ...]
    female_first: tuple[str, ...]
    male_last: tuple[str, ...]
    female_last: tuple[str, ...]
    streets: tuple[str, ...]

    def person(self, rng: random.Random) -> tuple[str, str]:
        """A (first, last) name pair; last names agree with gender where the language inflects them."""
        if rng.random() < 0.5:
            return pick(rng, self.female_first), pick(rng, self.female_last)
        return pick(rng, self.male_first), pick(rng, self.male_last)


def pick(rng: random.Random, items: tuple[T, ...]) -> T:
    # Indexing by ``random()`` costs one draw, whereas ``choice`` may consume several; both are deterministic.
    return items[int(rng.random() * len(items))]


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value.strip() for value in values if value.strip()))


def _locale_seed(locale: str) -> int:
    digest = hashlib.blake2b(f"{_POOL_SEED}/{locale}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@functools.cache
def locale_pool(locale: str) -> LocalePool:
    """The pool of ``locale`` (a Faker locale such as ``pl_PL``), built on first use."""
    fake = Faker(locale)
    fake.seed_instance(_locale_seed(locale))
    return LocalePool(
        locale=locale,
        male_first=_unique([fake.first_name_male() for _ in range(_PERSON_POOL)]),
        female_first=_unique([fake.first_name_female() for _ in range(_PERSON_POOL)]),
        male_last=_unique([fake.last_name_male() for _ in range(_PERSON_POOL * 2)]),
        female_last=_unique([fake.last_name_female() for _ in range(_PERSON_POOL * 2)]),
        streets=_unique([fake.street_name() for _ in range(_STREET_POOL)]),
    )
