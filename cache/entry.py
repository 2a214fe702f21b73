"""What the cache stores: a value with the time it was stored and the time it stops being fresh.

Freshness is decided from these timestamps, not from the backend's expiry: the backend keeps an entry for
its TTL plus the stale window, so an expired entry can still answer when its source fails. Timestamps are
wall-clock seconds, because several hub processes sharing Redis must agree on them.

``EntrySerializer`` turns an entry into compact JSON (orjson) for Redis: canonical records as their
``model_dump(mode="json")``, restored into their model (chosen by the record's ``entity``) on read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import orjson
from aiocache.serializers import BaseSerializer

from adapters.sdk import MODELS, CanonicalRecord, Entity

#: A cached value: one record or ``None`` (a key the source does not know), a list of records (a relation
#: lookup), or a list of strings (the relation values a record was listed under).
CachedValue: TypeAlias = CanonicalRecord | list[CanonicalRecord] | list[str] | None


class CorruptEntryError(ValueError):
    """A stored value that is not an entry this version wrote; it is treated as a miss."""


@dataclass(frozen=True, slots=True)
class CacheEntry:
    value: CachedValue
    stored_at: float
    fresh_until: float

    def is_fresh(self, now: float) -> bool:
        return now < self.fresh_until

    def age(self, now: float) -> float:
        """Seconds since the value was read from its source."""
        return max(0.0, now - self.stored_at)


def _record(data: Any) -> CanonicalRecord:
    if not isinstance(data, dict):
        raise CorruptEntryError("a cached record is not an object")
    try:
        model = MODELS[Entity(str(data.get("entity")))]
    except ValueError:
        raise CorruptEntryError(f"a cached record has an unknown entity {data.get('entity')!r}") from None
    try:
        return model.model_validate(data)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise CorruptEntryError(f"a cached {model.__name__} no longer validates: {exc}") from None


def _dump_value(value: CachedValue) -> tuple[str, Any]:
    if value is None:
        return "r", None
    if isinstance(value, CanonicalRecord):
        return "r", value.model_dump(mode="json")
    if all(isinstance(item, str) for item in value):
        return "t", list(value)
    return "l", [_dump_record(item) for item in value]


def _dump_record(item: object) -> Any:
    if not isinstance(item, CanonicalRecord):
        raise TypeError(f"cannot cache a {type(item).__name__} among records")
    return item.model_dump(mode="json")


def _load_value(kind: Any, data: Any) -> CachedValue:
    if kind == "r":
        return None if data is None else _record(data)
    if not isinstance(data, list):
        raise CorruptEntryError("a cached list is not a list")
    if kind == "l":
        return [_record(item) for item in data]
    if kind == "t" and all(isinstance(item, str) for item in data):
        return list(data)
    raise CorruptEntryError(f"unknown entry kind {kind!r}")


def dump_entry(entry: CacheEntry) -> bytes:
    kind, value = _dump_value(entry.value)
    return orjson.dumps({"s": entry.stored_at, "f": entry.fresh_until, "k": kind, "v": value})


def load_entry(raw: bytes | str) -> CacheEntry:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise CorruptEntryError("a cached value is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int | float):
        raise CorruptEntryError("a cached value is not an entry")
    fresh_until = data.get("f")
    if not isinstance(fresh_until, int | float):
        raise CorruptEntryError("a cached entry has no expiry")
    return CacheEntry(_load_value(data.get("k"), data.get("v")), float(data["s"]), float(fresh_until))


def records_of(value: CachedValue) -> Sequence[CanonicalRecord]:
    if value is None or isinstance(value, CanonicalRecord):
        return [] if value is None else [value]
    return [item for item in value if isinstance(item, CanonicalRecord)]


class EntrySerializer(BaseSerializer):  # type: ignore[misc]  # aiocache ships no type information
    """aiocache serializer for Redis: bytes in, bytes out (``encoding=None`` keeps them undecoded)."""

    DEFAULT_ENCODING = None

    def dumps(self, value: CacheEntry) -> bytes:
        return dump_entry(value)

    def loads(self, value: bytes | None) -> CacheEntry | CorruptEntryError | None:
        if value is None:
            return None
        try:
            return load_entry(value)
        except CorruptEntryError as exc:  # returned, not raised, so one bad key does not spoil a batch
            return exc
