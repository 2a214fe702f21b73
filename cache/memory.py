"""A size-bounded in-process aiocache backend: cachetools' ``TLRUCache`` behind aiocache's interface.

aiocache's own ``SimpleMemoryCache`` has no size bound and schedules one event-loop timer per key to expire
it. Here every key has its own lifetime (the TTL of the ``set``) and the cache holds at most ``max_entries``
keys: storing into a full cache first drops the expired keys, then the least recently read or written ones.
Reading a key counts as a use; an expired key reads as absent and is dropped by the next store.
cachetools is typed and keeps its expiry order in one heap, so a full cache costs no event-loop timers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

from aiocache.base import BaseCache
from aiocache.serializers import NullSerializer
from cachetools import TLRUCache

#: A stored value with the lifetime it was stored with (``None`` or 0: no expiry, as in aiocache).
_Slot: TypeAlias = tuple[Any, float | None]


def _expires_at(_key: str, slot: _Slot, now: float) -> float:
    lifetime = slot[1]
    return now + lifetime if lifetime else math.inf


class _LRUSlots(TLRUCache[str, _Slot]):
    """Reports the keys dropped to make room (expired keys leave through ``expire``, not ``popitem``)."""

    def __init__(
        self, max_entries: int, timer: Callable[[], float], on_evict: Callable[[str, Any], None] | None
    ) -> None:
        super().__init__(max_entries, _expires_at, timer)
        self.evictions = 0
        self._on_evict = on_evict

    def popitem(self) -> tuple[str, _Slot]:
        key, slot = super().popitem()
        self.evictions += 1
        if self._on_evict is not None:
            self._on_evict(key, slot[0])
        return key, slot


class BoundedMemoryCache(BaseCache):  # type: ignore[misc]  # aiocache ships no type information
    NAME = "bounded-memory"

    def __init__(
        self,
        max_entries: int,
        serializer: Any = None,
        *,
        timer: Callable[[], float] = time.monotonic,
        on_evict: Callable[[str, Any], None] | None = None,
        **kwargs: Any,
    ) -> None:
        """``timer`` measures lifetimes (monotonic seconds, like aiocache's own expiry); ``on_evict`` hears
        each key and value evicted to make room, as it goes."""
        if max_entries <= 0:
            raise ValueError(f"max_entries must be > 0, not {max_entries}")
        super().__init__(serializer=serializer or NullSerializer(), **kwargs)
        self._slots = _LRUSlots(max_entries, timer, on_evict)

    @property
    def max_entries(self) -> int:
        return int(self._slots.maxsize)

    @property
    def evictions(self) -> int:
        """Keys dropped so far to keep the cache within ``max_entries``."""
        return self._slots.evictions

    def __len__(self) -> int:
        """Keys held (counting drops the expired ones first)."""
        return len(self._slots)

    def _value(self, key: str) -> Any:
        # Indexing, not .get(): TLRUCache.get checks expiry twice, which makes a batch read several
        # times slower.
        try:
            return self._slots[key][0]
        except KeyError:
            return None

    def _store(self, key: str, value: Any, ttl: float | None) -> None:
        self._slots[key] = (value, ttl)

    def _drop(self, key: str) -> int:
        try:
            del self._slots[key]
        except KeyError:  # absent, or expired (cachetools drops it and still raises)
            return 0
        return 1

    async def _get(self, key: str, encoding: str | None = "utf-8", _conn: Any = None) -> Any:
        return self._value(key)

    async def _gets(self, key: str, encoding: str | None = "utf-8", _conn: Any = None) -> Any:
        return self._value(key)

    async def _multi_get(
        self, keys: Sequence[str], encoding: str | None = "utf-8", _conn: Any = None
    ) -> list[Any]:
        return [self._value(key) for key in keys]

    async def _set(
        self, key: str, value: Any, ttl: float | None = None, _cas_token: Any = None, _conn: Any = None
    ) -> bool | int:
        if _cas_token is not None and _cas_token != self._value(key):
            return 0
        self._store(key, value, ttl)
        return True

    async def _multi_set(
        self, pairs: Iterable[tuple[str, Any]], ttl: float | None = None, _conn: Any = None
    ) -> bool:
        for key, value in pairs:
            self._store(key, value, ttl)
        return True

    async def _add(self, key: str, value: Any, ttl: float | None = None, _conn: Any = None) -> bool:
        if key in self._slots:
            raise ValueError(f"Key {key} already exists, use .set to update the value")
        self._store(key, value, ttl)
        return True

    async def _exists(self, key: str, _conn: Any = None) -> bool:
        return key in self._slots

    async def _expire(self, key: str, ttl: float | None, _conn: Any = None) -> bool:
        if key not in self._slots:
            return False
        self._store(key, self._slots[key][0], ttl)
        return True

    async def _delete(self, key: str, _conn: Any = None) -> int:
        return self._drop(key)

    async def _clear(self, namespace: str | None = None, _conn: Any = None) -> bool:
        if namespace:
            for key in [key for key in self._slots if key.startswith(namespace)]:
                self._drop(key)
        else:
            self._slots.clear()
        return True

    async def _raw(
        self, command: str, *args: Any, encoding: str | None = "utf-8", _conn: Any = None, **kwargs: Any
    ) -> Any:
        # "keys" lists the live keys; other commands act on the stored slots, not the bare values.
        return getattr(self._slots, command)(*args, **kwargs)
