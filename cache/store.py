"""``RecordCache``: batch lookups, stores and record-level invalidation over a backend.

A failing backend never fails a read: a lookup that errors or times out is a miss and a store that fails is
skipped (both counted through ``on_error``). Invalidation is different: an administrator must know when it
did not happen, so it raises ``CacheUnavailableError``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from adapters.sdk import Entity

from .backends import CacheBackend, create_backend
from .config import CacheConfig
from .entry import CachedValue, CacheEntry, records_of
from .keys import KeyScheme, Op

log = logging.getLogger("crmhub.cache")


class CacheUnavailableError(RuntimeError):
    """The cache backend could not carry out an invalidation."""


@dataclass(slots=True)
class Lookup:
    """The outcome of a batch lookup: fresh values, and expired entries still inside the stale window."""

    fresh: dict[str, CachedValue] = field(default_factory=dict)
    stale: dict[str, CacheEntry] = field(default_factory=dict)


class RecordCache:
    def __init__(
        self,
        config: CacheConfig,
        backend: CacheBackend | None = None,
        *,
        clock: Callable[[], float] = time.time,
        on_error: Callable[[str], None] | None = None,
        on_evict: Callable[[int], None] | None = None,
    ) -> None:
        """``on_error`` hears the operation that failed; ``on_evict`` how many entries left the memory
        backend to keep it within ``memory_max_entries``."""
        self.config = config
        self.keys = KeyScheme(config.key_prefix)
        self.backend = backend if backend is not None else create_backend(config)
        self.clock = clock
        self._on_error = on_error
        self._on_evict = on_evict

    def ttl_for(self, source: str, entity: Entity) -> float:
        return self.config.ttl_for(source, entity)

    def _failed(self, operation: str, exc: BaseException) -> None:
        log.warning("cache %s failed on the %s backend: %s", operation, self.backend.name, type(exc).__name__)
        if self._on_error is not None:
            self._on_error(operation)

    async def lookup(
        self, source: str, entity: Entity, op: Op, field: str | None, keys: Sequence[str]
    ) -> Lookup:
        result = Lookup()
        if not keys:
            return result
        names = [self.keys.key(source, entity, op, field, key) for key in keys]
        try:
            entries = await self.backend.get_many(names)
        except Exception as exc:  # a broken cache is a miss, never a failed request
            self._failed("lookup", exc)
            return result
        now = self.clock()
        for key, entry in zip(keys, entries, strict=True):
            if entry is None:
                continue
            if entry.is_fresh(now):
                result.fresh[key] = entry.value
            elif now < entry.fresh_until + self.config.stale_seconds:
                result.stale[key] = entry
        return result

    async def store(
        self,
        source: str,
        entity: Entity,
        op: Op,
        field: str | None,
        values: Mapping[str, CachedValue],
        ttl: float,
    ) -> None:
        """Store fresh values; relation lists also record, per listed record, the keys it was listed under."""
        if ttl <= 0 or not values:
            return
        now = self.clock()
        items: list[tuple[str, CacheEntry]] = []
        listed_under: dict[str, list[str]] = {}
        for key, value in values.items():
            items.append((self.keys.key(source, entity, op, field, key), CacheEntry(value, now, now + ttl)))
            if op is Op.REL:
                for record in records_of(value):
                    listed_under.setdefault(record.external_id, []).append(key)
        for record_id, keys in listed_under.items():
            entry = CacheEntry(sorted(set(keys)), now, now + ttl)
            items.append((self.keys.key(source, entity, Op.REF, field, record_id), entry))
        try:
            evicted = await self.backend.set_many(items, ttl + self.config.stale_seconds)
            if evicted:
                await self._after_eviction(evicted)
        except Exception as exc:
            self._failed("store", exc)

    async def _after_eviction(self, evicted: Sequence[tuple[str, CacheEntry]]) -> None:
        # An evicted back-reference takes the lists it points to along: otherwise invalidating its record
        # could no longer find them, and they would go on listing the old record until their TTL.
        lists: list[str] = []
        for key, entry in evicted:
            if isinstance(entry.value, list):
                lists += self.keys.lists_named_by(key, (v for v in entry.value if isinstance(v, str)))
        dropped = await self.backend.delete_many(lists) if lists else 0
        if self._on_evict is not None:
            self._on_evict(len(evicted) + dropped)

    async def invalidate(
        self,
        source: str,
        entity: Entity,
        ids: Iterable[str],
        *,
        relations: Iterable[str] = (),
        related_values: Mapping[str, Sequence[str]] | None = None,
    ) -> int:
        """Drop records ``ids`` of ``source``/``entity`` and every relation list they were cached in.

        ``relations`` names the entity's relation fields (where lists may hold the records);
        ``related_values`` drops lists by relation value as well (``{"customer_external_id": ["7"]}``), for
        records the cache has never seen, such as one just created upstream. Returns the entries removed.
        """
        ids = list(dict.fromkeys(str(i) for i in ids))
        relation_fields = list(dict.fromkeys([*relations, *(related_values or {})]))
        doomed = [self.keys.key(source, entity, Op.GET, None, record_id) for record_id in ids]
        try:
            for relation in relation_fields:
                refs = [self.keys.key(source, entity, Op.REF, relation, record_id) for record_id in ids]
                doomed += refs
                values = set((related_values or {}).get(relation, ()))
                for entry in await self.backend.get_many(refs) if refs else []:
                    if entry is not None and isinstance(entry.value, list):
                        values.update(v for v in entry.value if isinstance(v, str))
                doomed += [self.keys.key(source, entity, Op.REL, relation, value) for value in sorted(values)]
            return await self.backend.delete_many(doomed) if doomed else 0
        except Exception as exc:
            self._failed("invalidate", exc)
            raise CacheUnavailableError(
                f"the {self.backend.name} cache did not answer ({type(exc).__name__})"
            ) from None

    async def invalidate_scope(self, source: str, entity: Entity | None = None) -> int:
        """Drop every entry of ``source`` (or of one of its entities)."""
        try:
            return await self.backend.delete_prefix(self.keys.scope(source, entity))
        except Exception as exc:
            self._failed("invalidate", exc)
            raise CacheUnavailableError(
                f"the {self.backend.name} cache did not answer ({type(exc).__name__})"
            ) from None

    async def aclose(self) -> None:
        try:
            await self.backend.aclose()
        except Exception as exc:
            self._failed("close", exc)
