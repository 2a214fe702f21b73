"""The ``cache:`` section of ``crmhub.yaml``.

::

    cache:
      enabled: true
      backend: redis                  # memory (default) or redis
      redis_url: redis://127.0.0.1:6379/0
      key_prefix: crmhub              # several hubs sharing one Redis and one prefix share entries
      default_ttl_seconds: 60
      stale_seconds: 600              # how long past expiry an entry may still answer for a failing source
      memory_max_entries: 100000      # memory backend: beyond this, the least recently used entries go
      sources:
        erp:
          ttl_seconds: 30             # every entity of this source...
          entities:
            product: 3600             # ...except these
            order: 0                  # 0 = never cached

Caching is on by default (memory, ``default_ttl_seconds``); readers that must see the upstream as it is now
(identity resolution) read past it (``fresh``, see ``hub/reads.py``). Records live in the hub process
(``memory``, at most ``memory_max_entries``, least recently used evicted first) or in Redis, where several
hub processes share them. CRM entities live in the hub's own database and are never cached.
"""

from __future__ import annotations

import importlib.util
import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from adapters.sdk import Entity

_PREFIX = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
#: Entries the memory backend holds at most (a record, a relation list or a back-reference each).
DEFAULT_MEMORY_MAX_ENTRIES = 100_000


class SourceCacheConfig(BaseModel):
    """TTL overrides of one source: ``ttl_seconds`` for all its entities, ``entities`` per entity."""

    model_config = ConfigDict(extra="forbid")

    ttl_seconds: float | None = Field(default=None, ge=0)
    entities: dict[Entity, float] = Field(default_factory=dict)

    @field_validator("entities")
    @classmethod
    def _non_negative(cls, value: dict[Entity, float]) -> dict[Entity, float]:
        for entity, ttl in value.items():
            if ttl < 0:
                raise ValueError(f"the TTL of {entity.value} must be >= 0 seconds")
        return value


def require_redis_client(what: str) -> None:
    """Refuse a configuration that needs Redis where the optional client is not installed, at start-up and
    with the fix, rather than with an import error at the first cache read."""
    if importlib.util.find_spec("redis") is None:
        raise ValueError(f"{what} needs the redis client, not installed here: pip install 'crmhub[redis]'")


class CacheConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    backend: str = "memory"
    redis_url: str | None = None
    key_prefix: str = "crmhub"
    default_ttl_seconds: float = Field(default=60.0, ge=0)
    #: The stale window: an expired entry is kept this long and served when its source fails.
    stale_seconds: float = Field(default=600.0, ge=0)
    #: The memory backend's bound: storing beyond it evicts the least recently read or written entries.
    memory_max_entries: int = Field(default=DEFAULT_MEMORY_MAX_ENTRIES, gt=0)
    #: A cache operation slower than this counts as a miss (a slow Redis must not slow every request).
    operation_timeout_seconds: float = Field(default=0.5, gt=0)
    sources: dict[str, SourceCacheConfig] = Field(default_factory=dict)
    #: A static bearer token the security gate accepts for ``invalidateCache`` only (see ``hub/security``).
    admin_token: SecretStr | None = None

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in ("memory", "redis"):
            raise ValueError(f"must be 'memory' or 'redis', not {value!r}")
        return value

    @field_validator("key_prefix")
    @classmethod
    def _safe_prefix(cls, value: str) -> str:
        if not _PREFIX.match(value):
            raise ValueError("must be 1-64 letters, digits, '_', '.' or '-'")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://")):
            raise ValueError("must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379/0")
        return value

    @model_validator(mode="after")
    def _redis_needs_url(self) -> CacheConfig:
        if self.enabled and self.backend == "redis":
            if not self.redis_url:
                raise ValueError("backend 'redis' needs redis_url (e.g. redis://127.0.0.1:6379/0)")
            require_redis_client("backend 'redis'")
        return self

    def ttl_for(self, source: str, entity: Entity) -> float:
        """Seconds an entry of ``source``/``entity`` stays fresh; 0 means the pair is not cached."""
        if not self.enabled:
            return 0.0
        override = self.sources.get(source)
        if override is not None:
            if entity in override.entities:
                return override.entities[entity]
            if override.ttl_seconds is not None:
                return override.ttl_seconds
        return self.default_ttl_seconds
