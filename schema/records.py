"""Types that wrap one canonical silo record: fields read the record's attributes.

Most fields of a silo-backed type are a plain attribute of the canonical record; ``record_field``
declares one in a line, and ``SourceRecord`` gives every such type its ``id``, ``source`` and
``externalId``.
"""

from __future__ import annotations

from typing import Any

import strawberry


def record_field(attr: str, graphql_type: Any, description: str | None = None) -> Any:
    """A field resolved as ``root._record.<attr>``."""

    def resolve(root: Any) -> Any:
        return getattr(root._record, attr)

    return strawberry.field(resolver=resolve, graphql_type=graphql_type, description=description)


def _global_id(root: Any) -> strawberry.ID:
    return strawberry.ID(f"{root._record.source}:{root._record.external_id}")


@strawberry.type
class SourceRecord:
    _record: strawberry.Private[Any]

    id: strawberry.ID = strawberry.field(
        resolver=_global_id, description="`source:externalId`, unique across the hub."
    )
    source: str = record_field("source", str, "The configured source the record comes from.")
    external_id: str = record_field("external_id", str, "The record's key in its source.")
