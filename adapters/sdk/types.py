"""Type aliases shared by the SDK, so signatures stay short and consistent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, TypeAlias

#: A key as the upstream system spells it (always a string in the SDK; composite keys are joined with ":").
ExternalId: TypeAlias = str
#: The configured name of a source, e.g. "erp" or "accounting".
SourceName: TypeAlias = str
#: A raw upstream row or JSON object before mapping.
RawRecord: TypeAlias = Mapping[str, Any]
Keys: TypeAlias = Sequence[ExternalId]
JSON: TypeAlias = dict[str, Any]

__all__ = ["JSON", "AsyncIterator", "ExternalId", "Keys", "RawRecord", "SourceName"]
