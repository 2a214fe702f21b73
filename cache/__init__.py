"""Caching of upstream reads (aiocache: in-memory by default, Redis when shared by several hubs).

``RecordCache`` stores canonical records under a versioned key scheme (``keys.py``) with a TTL per source
and entity and a stale window (``config.py``); ``SingleFlight`` makes concurrent identical loads share one
upstream call. The hub's ``Sources`` layer reads through both (see ``hub/reads.py``).
"""

from __future__ import annotations

from .backends import CacheBackend, MemoryBackend, RedisBackend, create_backend
from .config import DEFAULT_MEMORY_MAX_ENTRIES, CacheConfig, SourceCacheConfig
from .entry import CachedValue, CacheEntry, CorruptEntryError, EntrySerializer, dump_entry, load_entry
from .keys import VERSION, KeyScheme, Op
from .memory import BoundedMemoryCache
from .singleflight import FlightTimeoutError, SingleFlight
from .store import CacheUnavailableError, Lookup, RecordCache

__all__ = [
    "DEFAULT_MEMORY_MAX_ENTRIES",
    "VERSION",
    "BoundedMemoryCache",
    "CacheBackend",
    "CacheConfig",
    "CacheEntry",
    "CacheUnavailableError",
    "CachedValue",
    "CorruptEntryError",
    "EntrySerializer",
    "FlightTimeoutError",
    "KeyScheme",
    "Lookup",
    "MemoryBackend",
    "Op",
    "RecordCache",
    "RedisBackend",
    "SingleFlight",
    "SourceCacheConfig",
    "create_backend",
    "dump_entry",
    "load_entry",
]
