"""The versioned key scheme: ``{prefix}:v1:{source}:{entity}:{op}:{field}:{key}``.

``op`` is ``get`` (a record by key; ``field`` is ``-``), ``rel`` (the records whose ``field`` equals
``key``) or ``ref`` (the ``field`` values under which record ``key`` was cached by a ``rel`` entry, so that
invalidating one record also drops the relation lists it appears in). The key comes last, so it may hold
any character (composite keys contain ``:``); very long keys are hashed. Bump ``VERSION`` whenever the
stored shape changes, so hubs of different versions sharing a Redis never read each other's entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from adapters.sdk import Entity

VERSION = "v1"
_MAX_KEY = 200
_ENTITIES = frozenset(entity.value for entity in Entity)


class Op(StrEnum):
    GET = "get"
    REL = "rel"
    REF = "ref"


@dataclass(frozen=True, slots=True)
class KeyScheme:
    prefix: str

    @property
    def root(self) -> str:
        return f"{self.prefix}:{VERSION}:"

    def key(self, source: str, entity: Entity, op: Op, field: str | None, key: str) -> str:
        if len(key) > _MAX_KEY:
            key = "#" + hashlib.sha256(key.encode()).hexdigest()
        return f"{self.prefix}:{VERSION}:{source}:{entity.value}:{op.value}:{field or '-'}:{key}"

    def lists_named_by(self, ref_key: str, values: Iterable[str]) -> list[str]:
        """The ``rel`` keys of the lists a ``ref`` entry (at ``ref_key``, holding ``values``) points to;
        empty for any other key."""
        if not ref_key.startswith(self.root):
            return []
        parts = ref_key[len(self.root) :].split(":", 4)
        if len(parts) != 5 or parts[2] != Op.REF.value or parts[1] not in _ENTITIES:
            return []
        source, entity, _, field, _ = parts
        return [self.key(source, Entity(entity), Op.REL, field, value) for value in values]

    def scope(self, source: str, entity: Entity | None = None) -> str:
        """The common prefix of every key of ``source`` (and ``entity``)."""
        if entity is None:
            return f"{self.prefix}:{VERSION}:{source}:"
        return f"{self.prefix}:{VERSION}:{source}:{entity.value}:"
