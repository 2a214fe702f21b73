"""Reading the silos for identity resolution: every record on a full run, only what changed on an
incremental one (``scan(since=watermark)``), with the contacts whose e-mails and phones count for their
organisation."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from adapters.sdk import CanonicalRecord, Contact, Entity

from ..hub import Hub
from .attributes import Profile, RecordKey, profile_of

#: Entities whose records identity resolution links to customers.
MATCHED_ENTITIES = (Entity.CUSTOMER, Entity.MARKETING_MEMBER)
_CHUNK = 500

Progress = Callable[[str, str, int, int | None], None]
"""``progress(phase, detail, done, total)``: ``total`` is ``None`` while unknown."""


def _no_progress(phase: str, detail: str, done: int, total: int | None) -> None:
    pass


@dataclass
class SourceRead:
    """What one (source, entity) yielded."""

    source: str
    entity: str
    full: bool
    profiles: list[Profile] = field(default_factory=list)
    #: The newest ``updated_at`` seen, per entity read (the matched one and ``contact``).
    watermarks: dict[str, dt.datetime] = field(default_factory=dict)
    records_read: int = 0
    contacts_read: int = 0

    def keys(self) -> set[RecordKey]:
        return {p.key for p in self.profiles}


def matched_pairs(hub: Hub) -> list[tuple[str, Entity]]:
    """The (source, entity) pairs identity resolution covers, in config order."""
    wanted = hub.settings.identity.sources or hub.sources.names()
    return [
        (source, entity)
        for source in hub.sources.names()
        if source in wanted
        for entity in MATCHED_ENTITIES
        if hub.sources.adapter(source).supports(entity)
    ]


def _newest(records: Sequence[CanonicalRecord], current: dt.datetime | None) -> dt.datetime | None:
    stamps = [r.updated_at for r in records if r.updated_at is not None]
    newest = max(stamps, default=None)
    if current is None:
        return newest
    return max(current, newest) if newest is not None else current


async def _scan(
    hub: Hub, source: str, entity: Entity, since: dt.datetime | None, report: Progress
) -> list[CanonicalRecord]:
    records: list[CanonicalRecord] = []
    async for record in hub.sources.scan(source, entity, since):
        records.append(record)
        if len(records) % 1000 == 0:
            report("read", f"{source}.{entity.value}", len(records), None)
    report("read", f"{source}.{entity.value}", len(records), len(records))
    return records


async def read_source(
    hub: Hub,
    source: str,
    entity: Entity,
    *,
    since: dt.datetime | None,
    contacts_since: dt.datetime | None,
    progress: Progress | None = None,
) -> SourceRead:
    """Records of ``(source, entity)`` changed after ``since`` (all of them when ``since`` is ``None``), as
    profiles. A customer whose contacts changed after ``contacts_since`` counts as changed too."""
    report = progress or _no_progress
    full = since is None
    out = SourceRead(source, entity.value, full)
    records = await _scan(hub, source, entity, since, report)
    out.records_read = len(records)
    if (stamp := _newest(records, None)) is not None:
        out.watermarks[entity.value] = stamp
    contacts: dict[str, list[Contact]] = {}
    adapter = hub.sources.adapter(source)
    use_contacts = (
        entity == Entity.CUSTOMER and hub.settings.identity.use_contacts and adapter.supports(Entity.CONTACT)
    )
    if use_contacts:
        if full or "customer_external_id" not in adapter.relations(Entity.CONTACT):
            # Without a lookup of contacts by customer, every contact is read; a change to contacts alone is
            # then picked up when its organisation changes or on the next full run.
            found = await _scan(hub, source, Entity.CONTACT, None, report)
            _group(found, contacts)
        else:
            found = await _scan(hub, source, Entity.CONTACT, contacts_since, report)
            # An organisation whose contacts changed is re-read, with all its contacts.
            affected = {
                c.customer_external_id for c in found if isinstance(c, Contact) and c.customer_external_id
            }
            records = await _with_customers_of(hub, source, records, affected)
            for start in range(0, len(records), _CHUNK):
                ids = [r.external_id for r in records[start : start + _CHUNK]]
                related = await hub.sources.find_related(
                    source, Entity.CONTACT, "customer_external_id", ids, fresh=True
                )
                for external_id, group in zip(ids, related, strict=True):
                    contacts[external_id] = [c for c in group if isinstance(c, Contact)]
        out.contacts_read = len(found)
        if (stamp := _newest(found, None)) is not None:
            out.watermarks[Entity.CONTACT.value] = stamp
    out.profiles = await asyncio.to_thread(_profiles, records, contacts)
    return out


def _group(found: Sequence[CanonicalRecord], into: dict[str, list[Contact]]) -> None:
    for contact in found:
        if isinstance(contact, Contact) and contact.customer_external_id:
            into.setdefault(contact.customer_external_id, []).append(contact)


async def _with_customers_of(
    hub: Hub, source: str, records: list[CanonicalRecord], wanted: set[str]
) -> list[CanonicalRecord]:
    """``records`` plus the customers named in ``wanted`` that the scan did not return."""
    have = {r.external_id for r in records}
    missing = sorted(key for key in wanted if key not in have)
    merged = list(records)
    for start in range(0, len(missing), _CHUNK):
        chunk = missing[start : start + _CHUNK]
        found = await hub.sources.get_many(source, Entity.CUSTOMER, chunk, fresh=True)
        merged.extend(record for record in found if record is not None)
    return merged


def _profiles(records: Sequence[CanonicalRecord], contacts: dict[str, list[Contact]]) -> list[Profile]:
    out = []
    for record in records:
        profile = profile_of(record, contacts.get(record.external_id, ()))
        if profile is not None:
            out.append(profile)
    return out
