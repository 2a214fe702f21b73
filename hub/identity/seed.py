"""``seed_identity_map``: the original entry point, kept for callers written before identity resolution.

It now runs identity resolution (incremental), which seeds as before (every customer record of a seed source
that matches nothing becomes a hub customer of its own) and links matching records of every source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..hub import Hub
from .run import run_identity_resolution


@dataclass
class SeedReport:
    records_read: dict[str, int] = field(default_factory=dict)
    created: int = 0
    refreshed: int = 0
    seconds: float = 0.0


async def seed_identity_map(hub: Hub, *, since: datetime | None = None) -> SeedReport:
    """Run identity resolution; ``since`` is ignored (runs keep their own watermarks per source)."""
    report = await run_identity_resolution(hub)
    read: dict[str, int] = {}
    for key, count in report.records_read.items():
        source, _, entity = key.partition(".")
        if entity != "contact":
            read[source] = read.get(source, 0) + count
    return SeedReport(
        records_read=read,
        created=report.write.customers_created,
        refreshed=report.customers - report.write.customers_created,
        seconds=report.seconds,
    )
