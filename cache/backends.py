"""Where entries live: a bounded in-process cache, or Redis shared by several hub processes.

The memory backend keeps the ``CacheEntry`` objects themselves: canonical records are frozen models, so
handing the same object to several requests is safe and costs no serialization. It holds at most
``memory_max_entries`` keys, evicting the least recently used (``memory.py``). Redis stores each entry as
orjson bytes (``EntrySerializer``) and bounds itself by its own ``maxmemory`` policy.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast
from urllib.parse import unquote, urlsplit

from .config import DEFAULT_MEMORY_MAX_ENTRIES, CacheConfig
from .entry import CacheEntry, CorruptEntryError, EntrySerializer
from .memory import BoundedMemoryCache

log = logging.getLogger("crmhub.cache")
_DELETE_CHUNK = 500


class CacheBackend(Protocol):
    name: str

    async def get_many(self, keys: Sequence[str]) -> list[CacheEntry | None]: ...

    async def set_many(
        self, items: Sequence[tuple[str, CacheEntry]], ttl: float
    ) -> Sequence[tuple[str, CacheEntry]]:
        """Store ``items`` for ``ttl`` seconds; returns the entries evicted to make room for them."""
        ...

    async def delete_many(self, keys: Sequence[str]) -> int: ...

    async def delete_prefix(self, prefix: str) -> int: ...

    async def aclose(self) -> None: ...


class MemoryBackend:
    name = "memory"

    def __init__(
        self, max_entries: int = DEFAULT_MEMORY_MAX_ENTRIES, *, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._evicted: list[tuple[str, CacheEntry]] = []
        # No per-operation timeout: it would wrap every dict lookup in a task.
        self._cache = BoundedMemoryCache(max_entries, timeout=None, timer=timer, on_evict=self._note_evicted)

    @property
    def max_entries(self) -> int:
        return self._cache.max_entries

    @property
    def evictions(self) -> int:
        """Entries evicted so far to stay within ``max_entries`` (expired entries are not counted)."""
        return self._cache.evictions

    def __len__(self) -> int:
        return len(self._cache)

    def _note_evicted(self, key: str, value: Any) -> None:
        if isinstance(value, CacheEntry):
            self._evicted.append((key, value))

    async def get_many(self, keys: Sequence[str]) -> list[CacheEntry | None]:
        found = await self._cache.multi_get(list(keys))
        return [value if isinstance(value, CacheEntry) else None for value in found]

    async def set_many(
        self, items: Sequence[tuple[str, CacheEntry]], ttl: float
    ) -> Sequence[tuple[str, CacheEntry]]:
        if items:
            await self._cache.multi_set(list(items), ttl=ttl)
        evicted, self._evicted = self._evicted, []
        return evicted

    async def delete_many(self, keys: Sequence[str]) -> int:
        deleted = 0
        for key in dict.fromkeys(keys):
            deleted += int(await self._cache.delete(key))
        return deleted

    async def delete_prefix(self, prefix: str) -> int:
        keys = [key for key in list(await self._cache.raw("keys")) if str(key).startswith(prefix)]
        return await self.delete_many(keys)

    async def aclose(self) -> None:
        await self._cache.clear()


def _glob_escape(text: str) -> str:
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)


class RedisBackend:
    name = "redis"

    def __init__(self, url: str, *, operation_timeout: float) -> None:
        # Imported here: the redis client is an optional extra (the configuration says so when it is
        # missing), and the default in-memory cache must work without it.
        from aiocache.backends.redis import RedisCache

        parts = urlsplit(url)
        database = parts.path.strip("/") or "0"
        if not database.isdigit():
            raise ValueError(f"the Redis database in the URL must be a number, not {database!r}")
        self._cache: Any = RedisCache(
            endpoint=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=int(database),
            password=unquote(parts.password) if parts.password else None,
            ssl=parts.scheme == "rediss",
            serializer=EntrySerializer(),
            timeout=operation_timeout,
        )

    @property
    def client(self) -> Any:
        return self._cache.client

    async def get_many(self, keys: Sequence[str]) -> list[CacheEntry | None]:
        found = await self._cache.multi_get(list(keys))
        result: list[CacheEntry | None] = []
        for key, value in zip(keys, found, strict=True):
            if isinstance(value, CorruptEntryError):
                log.warning("ignoring an unreadable cache entry %s: %s", key, value)
                value = None
            result.append(cast("CacheEntry | None", value))
        return result

    async def set_many(
        self, items: Sequence[tuple[str, CacheEntry]], ttl: float
    ) -> Sequence[tuple[str, CacheEntry]]:
        if items:
            # Redis expires whole milliseconds; never expire before the stale window ends.
            await self._cache.multi_set(list(items), ttl=math.ceil(ttl * 1000) / 1000)
        return ()  # Redis evicts by its own maxmemory policy, unseen by the hub

    async def delete_many(self, keys: Sequence[str]) -> int:
        unique = list(dict.fromkeys(keys))
        deleted = 0
        for start in range(0, len(unique), _DELETE_CHUNK):
            deleted += int(await self.client.delete(*unique[start : start + _DELETE_CHUNK]))
        return deleted

    async def delete_prefix(self, prefix: str) -> int:
        # SCAN, not KEYS: it never blocks a Redis that other hubs are using.
        keys = [key async for key in self.client.scan_iter(match=f"{_glob_escape(prefix)}*", count=1000)]
        return await self.delete_many(keys)

    async def aclose(self) -> None:
        # The redis client itself: aiocache's close() calls a method redis-py deprecated.
        await self.client.aclose()


def create_backend(config: CacheConfig) -> CacheBackend:
    if config.backend == "redis":
        if not config.redis_url:
            raise ValueError("backend 'redis' needs redis_url")
        return RedisBackend(config.redis_url, operation_timeout=config.operation_timeout_seconds)
    return MemoryBackend(config.memory_max_entries)
