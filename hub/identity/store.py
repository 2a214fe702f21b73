"""Persistence of identity resolution's own state: record profiles with their attachments, watermarks and
runs. Writes are bulk statements (one ``executemany`` per kind of change, see ``bulk``), and only for what
changed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..store.models import utcnow
from .attributes import Profile, RecordKey
from .bulk import bulk_insert, bulk_update
from .engine import Attachment, KnownEdge
from .rules import CriterionResult
from .settings import ResolutionSettings
from .tables import IdentityRecord, IdentityRun, IdentityWatermark

#: Bump when a normalizer changes what it returns: stored normalized values are then stale and the next
#: run re-reads everything.
NORMALIZATION_VERSION = 2
_BATCH = 2000


def fingerprint(settings: ResolutionSettings) -> str:
    """What makes stored evidence comparable between runs: rules, limits, block size and normalizers."""
    payload = {"settings": settings.model_dump(mode="json"), "normalization": NORMALIZATION_VERSION}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass
class StoredRecord:
    id: int
    profile: Profile
    matched: RecordKey | None
    rule: str | None
    score: float | None
    evidence: list[dict[str, Any]] | None


async def load_records(
    session: AsyncSession, pairs: Iterable[tuple[str, str]]
) -> dict[RecordKey, StoredRecord]:
    wanted = list(pairs)
    if not wanted:
        return {}
    condition = or_(*(and_(IdentityRecord.source == s, IdentityRecord.entity == e) for s, e in wanted))
    rows = await session.execute(
        select(
            IdentityRecord.id,
            IdentityRecord.source,
            IdentityRecord.entity,
            IdentityRecord.external_id,
            IdentityRecord.name,
            IdentityRecord.country,
            IdentityRecord.attributes,
            IdentityRecord.upstream_updated_at,
            IdentityRecord.matched_source,
            IdentityRecord.matched_entity,
            IdentityRecord.matched_external_id,
            IdentityRecord.rule,
            IdentityRecord.score,
            IdentityRecord.evidence,
        ).where(condition)
    )
    out: dict[RecordKey, StoredRecord] = {}
    for row in rows:
        key = (row.source, row.entity, row.external_id)
        profile = Profile.from_json(
            key, row.attributes or {}, name=row.name, country=row.country, updated_at=row.upstream_updated_at
        )
        matched = (
            (row.matched_source, row.matched_entity, row.matched_external_id)
            if row.matched_source and row.matched_entity and row.matched_external_id
            else None
        )
        out[key] = StoredRecord(row.id, profile, matched, row.rule, row.score, row.evidence)
    return out


def known_edges(stored: dict[RecordKey, StoredRecord]) -> list[KnownEdge]:
    """The evidence that attached each record last time, oriented from that record."""
    edges = []
    for key, record in stored.items():
        if record.matched is None or record.rule is None:
            continue
        criteria = tuple(CriterionResult.from_json(c) for c in record.evidence or ())
        edges.append(KnownEdge(key, record.matched, record.rule, record.score or 0.0, criteria))
    return edges


def profile_row(profile: Profile, seen_at: dt.datetime) -> dict[str, Any]:
    return {
        "source": profile.source,
        "entity": profile.entity,
        "external_id": profile.external_id,
        "name": profile.name[:300],
        "country": profile.country,
        # ``{attribute: [[raw, normalized], ...]}``: the pairs are tuples, which JSON writes as arrays.
        "attributes": profile.values,
        "upstream_updated_at": profile.updated_at,
        "seen_at": seen_at,
    }


def changed_profiles(fetched: Sequence[Profile], stored: dict[RecordKey, StoredRecord]) -> set[RecordKey]:
    """Keys of fetched profiles that are new or whose match attributes changed (a record re-read with the same
    attributes is not "changed": its evidence still holds)."""
    changed = set()
    for profile in fetched:
        previous = stored.get(profile.key)
        if (
            previous is None
            or previous.profile.values != profile.values
            or previous.profile.name != profile.name
            or previous.profile.country != profile.country
        ):
            changed.add(profile.key)
    return changed


def attachment_row(attachment: Attachment, matched: RecordKey | None) -> dict[str, Any]:
    return {
        "matched_source": matched[0] if matched else None,
        "matched_entity": matched[1] if matched else None,
        "matched_external_id": matched[2] if matched else None,
        "rule": attachment.rule,
        "score": round(attachment.score, 6),
        "evidence": [c.to_json() for c in attachment.criteria] or None,
    }


async def write_records(
    session: AsyncSession,
    *,
    inserts: Sequence[dict[str, Any]],
    updates: Sequence[dict[str, Any]],
    deletes: Sequence[int],
) -> None:
    table: Table = IdentityRecord.__table__  # type: ignore[assignment]
    for start in range(0, len(deletes), _BATCH):
        await session.execute(table.delete().where(table.c.id.in_(deletes[start : start + _BATCH])))
    await bulk_insert(session, table, inserts)
    await bulk_update(session, table, updates)


# -- watermarks and runs ---------------------------------------------------------------------------------


async def load_watermarks(session: AsyncSession) -> dict[tuple[str, str], dt.datetime | None]:
    rows = await session.execute(
        select(IdentityWatermark.source, IdentityWatermark.entity, IdentityWatermark.watermark)
    )
    return {(s, e): w for s, e, w in rows}


async def save_watermark(
    session: AsyncSession, source: str, entity: str, watermark: dt.datetime | None, records: int
) -> None:
    now = utcnow()
    row = await session.get(IdentityWatermark, (source, entity))
    if row is None:
        session.add(
            IdentityWatermark(
                source=source, entity=entity, watermark=watermark, last_run_at=now, records_read=records
            )
        )
        return
    if watermark is not None and (row.watermark is None or watermark > row.watermark):
        row.watermark = watermark
    row.last_run_at, row.records_read = now, records


async def last_fingerprint(session: AsyncSession) -> str | None:
    return await session.scalar(
        select(IdentityRun.fingerprint)
        .where(IdentityRun.status == "succeeded")
        .order_by(IdentityRun.id.desc())
        .limit(1)
    )
