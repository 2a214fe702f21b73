"""The running hub: settings, its database, its sources and metrics, with one start and one close."""

from __future__ import annotations

from pathlib import Path

from adapters.sdk import AdapterRegistry

from .config import HubSettings, load_settings
from .metrics import HubMetrics
from .security.service import HubSecurity
from .sources import Sources
from .store import Database
from .tracing import Tracing, build_tracing


class Hub:
    def __init__(
        self,
        settings: HubSettings,
        db: Database,
        sources: Sources,
        metrics: HubMetrics,
        tracing: Tracing | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.sources = sources
        self.metrics = metrics
        self.tracing = tracing or build_tracing(settings.tracing)
        #: Authentication and rate limiting of HTTP requests (``hub.security``).
        self.security = HubSecurity(settings, db)

    @classmethod
    async def start(cls, settings: HubSettings, *, registry: AdapterRegistry | None = None) -> Hub:
        """Build the sources (validating every source's config) and migrate the hub database."""
        metrics = HubMetrics()
        tracing = build_tracing(settings.tracing)
        sources = Sources.from_settings(settings, metrics, registry, tracer=tracing.tracer)
        cache = settings.cache
        if (
            settings.resilience.share_breakers
            and cache.enabled
            and cache.backend == "redis"
            and cache.redis_url
        ):
            sources.share_breakers(cache.redis_url, cache.key_prefix)
        db = Database(settings.database_url, inline_read_budget_ms=settings.database_inline_read_budget_ms)
        try:
            await db.migrate()
        except BaseException:
            await db.aclose()
            await sources.aclose()
            tracing.close()
            raise
        return cls(settings, db, sources, metrics, tracing)

    @classmethod
    async def from_file(cls, path: Path | str) -> Hub:
        return await cls.start(load_settings(path))

    async def aclose(self) -> None:
        await self.security.aclose()
        await self.sources.aclose()
        await self.db.aclose()
        self.tracing.close()
