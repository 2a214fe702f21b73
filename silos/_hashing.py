"""Deterministic per-record randomness.

Every decision about a record is derived from a hash of ``(seed, record key, purpose)`` rather than from one
shared random stream, so a record's data does not depend on how many records were built before it and a
silo can be rebuilt in any order (or partially) with identical results.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def _digest(parts: tuple[object, ...]) -> int:
    text = "\x1f".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def unit(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts``."""
    return _digest(parts) / 2**64


def rng(*parts: object) -> random.Random:
    """A private random stream for one record, for decisions that need several draws."""
    return random.Random(_digest(parts))


def pick(options: Sequence[T], *parts: object) -> T:
    return options[_digest(parts) % len(options)]


def hex_id(length: int, *parts: object) -> str:
    """A stable hexadecimal identifier, e.g. for list or campaign ids."""
    text = "\x1f".join(str(part) for part in parts).encode()
    return hashlib.sha256(text).hexdigest()[:length]
