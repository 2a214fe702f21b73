"""One run of identity resolution: read what changed, match, cluster, write the identity map.

Incremental by default: each (source, entity) is scanned from its watermark, a record whose match attributes
did not change keeps its evidence, and only blocks containing a changed record are compared again. A full
run (``full=True``, a first run, or a run after the rules changed) re-reads and re-compares everything and
forgets records their silo no longer has. Manual merges and splits are replayed every time.
"""

from __future__ import annotations

import asyncio
import copy
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from adapters.sdk import Entity

from ..hub import Hub
from ..store.models import CustomerLink, utcnow
from .attributes import Profile, RecordKey
from .decisions import load_decisions, manual_constraints
from .engine import Engine, Resolution, collector_paused
from .reader import Progress, SourceRead, matched_pairs, read_source
from .settings import ResolutionSettings
from .store import (
    StoredRecord,
    attachment_row,
    changed_profiles,
    fingerprint,
    known_edges,
    last_fingerprint,
    load_records,
    load_watermarks,
    profile_row,
    save_watermark,
    write_records,
)
from .tables import IdentityRun
from .writer import WriteReport, write_resolution

_locks: weakref.WeakKeyDictionary[Hub, asyncio.Lock] = weakref.WeakKeyDictionary()


@dataclass
class IdentityRunReport:
    full: bool
    #: Why the run was full ("requested", "first run", "rules changed"); empty for incremental runs.
    full_reason: str = ""
    #: Records read per ``source.entity`` (contacts under ``source.contact``).
    records_read: dict[str, int] = field(default_factory=dict)
    records_changed: int = 0
    records_deleted: int = 0
    records_total: int = 0
    compared_pairs: int = 0
    rule_matches: dict[str, int] = field(default_factory=dict)
    ambiguous_records: int = 0
    clusters: int = 0
    singletons: int = 0
    customers: int = 0
    links: int = 0
    write: WriteReport = field(default_factory=WriteReport)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        # Field by field: ``asdict`` would deep-copy ``write.assigned`` (a cluster number per customer) only
        # for it to be dropped.
        data = {f.name: copy.copy(getattr(self, f.name)) for f in fields(self) if f.name != "write"}
        data["write"] = {
            f.name: copy.copy(getattr(self.write, f.name)) for f in fields(self.write) if f.name != "assigned"
        }
        return data


def _lock(hub: Hub) -> asyncio.Lock:
    lock = _locks.get(hub)
    if lock is None:
        lock = _locks[hub] = asyncio.Lock()
    return lock


def resolution_settings(hub: Hub) -> ResolutionSettings:
    identity = hub.settings.identity
    return ResolutionSettings(
        rules=identity.rules, limits=identity.limits, max_block_size=identity.max_block_size
    )


def source_order(hub: Hub) -> list[str]:
    """Anchor priority: seed sources in their configured order, then the other sources in config order."""
    seeds = list(hub.settings.identity.seed_sources)
    return seeds + [name for name in hub.sources.names() if name not in seeds]


async def run_identity_resolution(
    hub: Hub, *, full: bool = False, progress: Progress | None = None
) -> IdentityRunReport:
    """Bring the identity map up to date with the silos (one run at a time per hub)."""
    async with _lock(hub):
        return await _run(hub, full=full, progress=progress)


async def _run(hub: Hub, *, full: bool, progress: Progress | None) -> IdentityRunReport:
    started = time.perf_counter()
    settings = resolution_settings(hub)
    pairs = matched_pairs(hub)
    current = fingerprint(settings)
    async with hub.db.session() as session:
        watermarks = await load_watermarks(session)
        previous = await last_fingerprint(session)
    report = IdentityRunReport(full=full)
    if full:
        report.full_reason = "requested"
    elif previous is None:
        full, report.full, report.full_reason = True, True, "first run"
    elif previous != current:
        full, report.full, report.full_reason = True, True, "rules changed"
    async with hub.db.transaction() as session:
        run = IdentityRun(full=full, status="running", fingerprint=current, summary={}, started_at=utcnow())
        session.add(run)
    try:
        # A run builds and drops hundreds of thousands of small objects; the cyclic collector would rescan
        # the live ones over and over (a third of the run time at 100k records).
        with collector_paused():
            await _resolve(
                hub, run, report, pairs, watermarks, full=full, settings=settings, progress=progress
            )
    except BaseException:
        async with hub.db.transaction() as session:
            await session.execute(
                update(IdentityRun)
                .where(IdentityRun.id == run.id)
                .values(status="failed", finished_at=utcnow())
            )
        raise
    report.seconds = time.perf_counter() - started
    async with hub.db.transaction() as session:
        await session.execute(
            update(IdentityRun)
            .where(IdentityRun.id == run.id)
            .values(status="succeeded", finished_at=utcnow(), summary=report.summary())
        )
    return report


async def _resolve(
    hub: Hub,
    run: IdentityRun,
    report: IdentityRunReport,
    pairs: Sequence[tuple[str, Entity]],
    watermarks: dict[tuple[str, str], Any],
    *,
    full: bool,
    settings: ResolutionSettings,
    progress: Progress | None,
) -> None:
    phase = time.perf_counter()
    reads: list[SourceRead] = []
    for source, entity in pairs:
        since = None if full else watermarks.get((source, entity.value))
        contacts_since = None if full else watermarks.get((source, Entity.CONTACT.value))
        read = await read_source(
            hub, source, entity, since=since, contacts_since=contacts_since, progress=progress
        )
        reads.append(read)
        report.records_read[f"{source}.{entity.value}"] = read.records_read
        if read.contacts_read:
            report.records_read[f"{source}.contact"] = read.contacts_read
    report.phases["read"] = time.perf_counter() - phase

    phase = time.perf_counter()
    _report(progress, "store", "comparing with stored records", sum(len(r.profiles) for r in reads), None)
    managed = {(source, entity.value) for source, entity in pairs}
    async with hub.db.session() as session:
        stored = await load_records(session, managed)
        manual = manual_constraints(await load_decisions(session))
    fetched = [p for read in reads for p in read.profiles]
    changed = changed_profiles(fetched, stored)
    gone: list[StoredRecord] = []
    for read in reads:
        if read.full:
            present = read.keys()
            gone.extend(
                record
                for key, record in stored.items()
                if (key[0], key[1]) == (read.source, read.entity) and key not in present
            )
    report.records_changed, report.records_deleted = len(changed), len(gone)
    deleted = {record.profile.key for record in gone}
    by_key: dict[RecordKey, Profile] = {k: r.profile for k, r in stored.items() if k not in deleted}
    by_key.update({p.key: p for p in fetched})
    profiles = _ordered(by_key, pairs)
    report.records_total = len(profiles)
    pending = changed | {k for k, r in stored.items() if r.rule is None and k not in deleted}
    report.phases["store"] = time.perf_counter() - phase
    incremental = not full and not deleted
    if incremental and not pending:
        # Nothing changed upstream: the identity map (kept current by merges and splits as they happen)
        # still holds; only the watermarks move.
        async with hub.db.transaction() as session:
            await _save_watermarks(session, reads)
            report.links = await session.scalar(select(func.count()).select_from(CustomerLink)) or 0
            report.customers = report.write.customers = await _linked_customers(session, managed)
        _report(progress, "done", "", 1, 1)
        return

    phase = time.perf_counter()
    _report(progress, "match", "and clustering", len(profiles), None)
    engine = Engine(settings, source_order=source_order(hub))
    index = {p.key: i for i, p in enumerate(profiles)}
    resolution: Resolution = await asyncio.to_thread(
        engine.resolve,
        profiles,
        changed={index[k] for k in pending if k in index} if incremental else None,
        known_edges=known_edges(stored) if incremental else (),
        manual=manual,
    )
    stats = resolution.stats
    report.compared_pairs, report.rule_matches = stats.compared_pairs, stats.matches_by_rule
    report.ambiguous_records = stats.clustering.ambiguous_records
    report.clusters, report.singletons = stats.clusters, stats.singletons
    report.phases["match"] = time.perf_counter() - phase

    phase = time.perf_counter()
    _report(progress, "write", "customers and links", len(profiles), None)
    inserts, updates = _record_rows(resolution, stored, changed)
    # One transaction: profiles, evidence, links and customers change together or not at all (a failed run
    # leaves the stored profiles as they were, so the next run sees the same changes again).
    async with hub.db.transaction() as session:
        await write_records(session, inserts=inserts, updates=updates, deletes=[r.id for r in gone])
        report.write = await write_resolution(
            session, resolution, managed=managed, seed_sources=hub.settings.identity.seed_sources
        )
        await _save_watermarks(session, reads)
        report.links = await session.scalar(select(func.count()).select_from(CustomerLink)) or 0
    report.customers = report.write.customers
    report.phases["write"] = time.perf_counter() - phase
    _report(progress, "done", "", 1, 1)


async def _linked_customers(session: Any, managed: set[tuple[str, str]]) -> int:
    """Customers holding at least one record identity resolution manages."""
    if not managed:
        return 0
    pairs = or_(*(and_(CustomerLink.source == s, CustomerLink.entity == e) for s, e in managed))
    linked = select(CustomerLink.hub_customer_id).where(pairs).distinct().subquery()
    return await session.scalar(select(func.count()).select_from(linked)) or 0


async def _save_watermarks(session: Any, reads: Sequence[SourceRead]) -> None:
    for read in reads:
        for entity_name, stamp in read.watermarks.items():
            count = read.contacts_read if entity_name == Entity.CONTACT.value else read.records_read
            await save_watermark(session, read.source, entity_name, stamp, count)
        if not read.watermarks:
            await save_watermark(session, read.source, read.entity, None, read.records_read)


def _report(progress: Progress | None, phase: str, detail: str, done: int, total: int | None) -> None:
    if progress is not None:
        progress(phase, detail, done, total)


def _ordered(by_key: dict[RecordKey, Profile], pairs: Sequence[tuple[str, Entity]]) -> list[Profile]:
    """A stable order (config order of sources, then ids) so that ties break the same way every run."""
    rank = {(source, entity.value): i for i, (source, entity) in enumerate(pairs)}
    return sorted(
        by_key.values(),
        key=lambda p: (rank.get((p.source, p.entity), len(rank)), len(p.external_id), p.external_id),
    )


def _record_rows(
    resolution: Resolution, stored: dict[RecordKey, StoredRecord], changed: set[RecordKey]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows to insert (new records, with their evidence) and to update (changed records; unchanged ones
    whose evidence differs from what is stored)."""
    profiles = resolution.profiles
    now = utcnow()
    inserts, updates = [], []
    for cluster in resolution.clusters:
        for i, attachment in cluster.attachments.items():
            profile = profiles[i]
            key = profile.key
            matched = profiles[attachment.matched_with].key if attachment.matched_with is not None else None
            evidence = attachment_row(attachment, matched)
            previous = stored.get(key)
            if previous is None:
                inserts.append({**profile_row(profile, now), **evidence})
            elif key in changed:
                updates.append({"id": previous.id, **profile_row(profile, now), **evidence})
            elif (
                previous.rule != evidence["rule"]
                or previous.matched != matched
                or previous.score is None
                or abs(previous.score - evidence["score"]) >= 1e-9
                or (previous.evidence or None) != evidence["evidence"]
            ):
                updates.append({"id": previous.id, **evidence})
    return inserts, updates
