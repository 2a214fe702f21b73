"""The configured sources and their health."""

from __future__ import annotations

from enum import Enum

import strawberry

from hub.sources import SourceStatus


@strawberry.enum
class SourceHealth(Enum):
    UP = "up"
    DOWN = "down"


@strawberry.type
class Source:
    _status: strawberry.Private[SourceStatus]

    @strawberry.field
    def name(self) -> str:
        return self._status.name

    @strawberry.field
    def adapter(self) -> str:
        return self._status.adapter

    @strawberry.field(description="Whether the probe of the upstream just made succeeded.")
    def health(self) -> SourceHealth:
        return SourceHealth.UP if self._status.health.ok else SourceHealth.DOWN

    @strawberry.field
    def latency_ms(self) -> float:
        return round(self._status.health.latency_ms, 2)

    @strawberry.field
    def detail(self) -> str | None:
        return self._status.health.detail
