"""Per-record random generators.

Every record draws from its own ``random.Random`` seeded from ``(seed, table, index)``, so a record's values
never depend on how many records were generated before it: company 42 is the same in a database of 100
companies and in one of 100_000, and other silos can re-derive it cheaply.
"""

from __future__ import annotations

import hashlib
import random


def record_seed(seed: int, table: str, index: int) -> int:
    digest = hashlib.blake2b(f"{seed}/{table}/{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def record_rng(seed: int, table: str, index: int) -> random.Random:
    return random.Random(record_seed(seed, table, index))
