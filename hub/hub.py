"""The running hub: settings, its database, its sources and metrics, with one start and one close."""

from __future__ import annotations

from pathlib import Path

from adapters.sdk import AdapterRegistry

from .config import HubSettings, load_settings
from .metrics import HubMetrics
from .sources import Sources
from .store import Database


class Hub:
    def __init__(self, settings: HubSettings, db: Database, sources: Sources, metrics: HubMetrics) -> None:
        self.settings = settings
        self.db = db
        self.sources = sources
        self.metrics = metrics

    @classmethod
    async def start(cls, settings: HubSettings, *, registry: AdapterRegistry | None = None) -> Hub:
        """Build the sources (validating every source's config) and migrate the hub database."""
        metrics = HubMetrics()
        sources = Sources.from_settings(settings, metrics, registry)
        db = Database(settings.database_url)
        try:
            await db.migrate()
        except BaseException:
            await db.aclose()
            await sources.aclose()
            raise
        return cls(settings, db, sources, metrics)

    @classmethod
    async def from_file(cls, path: Path | str) -> Hub:
        return await cls.start(load_settings(path))

    async def aclose(self) -> None:
        await self.sources.aclose()
        await self.db.aclose()
