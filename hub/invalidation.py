"""Dropping cached silo records when they change upstream.

``invalidate`` is the one service behind the ``invalidateCache`` admin mutation and the ``POST
/hooks/{source}`` change notifications, and the function other services call after writing to a silo.
CRM entities (leads, opportunities, activities...) live in the hub's own database and are never cached, so
CRM mutations have nothing to invalidate for their own data.

By record: ``invalidate(hub, source="erp", entity="order", ids=["10248"])`` drops order 10248 and every
cached relation list it was listed in (e.g. its customer's orders). A record the cache never saw, such as
one just created upstream, is reached through ``related={"customer_external_id": ["7"]}``. Without ids the
whole entity (or, without an entity, the whole source) is dropped. A fetch that was already running when
the invalidation arrived may still store what it read; the next change or the TTL corrects it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adapters.sdk import Entity
from cache import CacheUnavailableError

from .errors import HubError, InvalidInputError

if TYPE_CHECKING:
    from .hub import Hub

MAX_IDS = 1000
MAX_ID_LENGTH = 200


class CacheUnavailable(HubError):
    code = "CACHE_UNAVAILABLE"


@dataclass(frozen=True, slots=True)
class InvalidationResult:
    source: str
    entity: str | None
    #: Cache entries removed (records and relation lists); 0 when caching is off.
    removed: int


def _entity(hub: Hub, source: str, entity: str | Entity | None) -> Entity | None:
    if entity is None:
        return None
    try:
        parsed = Entity(entity)
    except ValueError:
        known = ", ".join(e.value for e in Entity)
        raise InvalidInputError(f"unknown entity {entity!r} (known: {known})", field="entity") from None
    if not hub.sources.adapter(source).supports(parsed):
        raise InvalidInputError(f"source {source!r} does not provide {parsed.value}", field="entity")
    return parsed


def _ids(ids: Sequence[str]) -> list[str]:
    if len(ids) > MAX_IDS:
        raise InvalidInputError(f"at most {MAX_IDS} ids per invalidation", field="ids")
    for value in ids:
        if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
            raise InvalidInputError(
                f"every id must be a non-empty string of at most {MAX_ID_LENGTH} characters", field="ids"
            )
    return list(ids)


async def invalidate(
    hub: Hub,
    *,
    source: str,
    entity: str | Entity | None = None,
    ids: Sequence[str] | None = None,
    related: Mapping[str, Sequence[str]] | None = None,
) -> InvalidationResult:
    """Drop cached records of ``source``; see the module documentation for what each argument selects."""
    if source not in hub.sources.names():
        raise InvalidInputError(f"no source named {source!r}", field="source")
    chosen = _entity(hub, source, entity)
    if chosen is None and (ids is not None or related):
        raise InvalidInputError("ids and related values need an entity", field="entity")
    relations = hub.sources.adapter(source).relations(chosen) if chosen is not None else frozenset()
    for relation, values in (related or {}).items():
        if relation not in relations:
            known = ", ".join(sorted(relations)) or "none"
            raise InvalidInputError(
                f"{relation!r} is not a relation of {chosen.value if chosen else '?'} (relations: {known})",
                field="related",
            )
        _ids(values)
    cache = hub.sources.cache
    name = chosen.value if chosen is not None else None
    if cache is None:
        return InvalidationResult(source, name, 0)
    try:
        if chosen is None or (ids is None and not related):
            removed = await cache.invalidate_scope(source, chosen)
        else:
            removed = await cache.invalidate(
                source, chosen, _ids(ids or []), relations=relations, related_values=related
            )
    except CacheUnavailableError as exc:
        raise CacheUnavailable(f"the cache could not be invalidated: {exc}") from None
    return InvalidationResult(source, name, removed)
