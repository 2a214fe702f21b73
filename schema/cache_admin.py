"""``invalidateCache``: the administrators' way to drop cached silo records (see ``hub/invalidation.py``).

Who may call it is the security policy's business (``schema/permissions.py``: ``cache:write``).
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from hub.invalidation import invalidate

from .context import Info


@strawberry.type
class CacheInvalidation:
    source: str
    entity: str | None
    removed: int = strawberry.field(description="Cache entries removed (0 when caching is off).")


@strawberry.type
class CacheMutation:
    @strawberry.mutation(
        description="Drop cached records of a source: by record `ids` (with their relation lists), a whole "
        "`entity`, or the whole source. CRM data is never cached and needs no invalidation."
    )
    async def invalidate_cache(
        self,
        info: Info,
        # Named ``source`` in GraphQL only: field extensions receive ``source`` (the parent) positionally.
        source_name: Annotated[str, strawberry.argument(name="source")],
        entity: str | None = None,
        ids: list[str] | None = None,
    ) -> CacheInvalidation:
        result = await invalidate(info.context.hub, source=source_name, entity=entity, ids=ids)
        return CacheInvalidation(source=result.source, entity=result.entity, removed=result.removed)
