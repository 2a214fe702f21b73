"""Tables of identity resolution (migration ``0003``), on the hub store's metadata.

* ``identity_records``: every matchable silo record seen, with its match attributes (raw and normalized) and
  how it is attached to its customer (the record it matched, the rule, the score, the criteria): incremental
  runs match changed records against these, and ``Customer.matchExplanation`` reads them.
* ``identity_decisions``: admins' merges and splits, replayed by every run.
* ``identity_watermarks``: per source and entity, the newest ``updated_at`` read, for incremental scans.
* ``identity_runs``: one row per run, with its summary and the ruleset's fingerprint.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from ..store.models import Base, utcnow


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in Python on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        stamp: dt.datetime = value
        return stamp.astimezone(dt.UTC) if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        stamp: dt.datetime = value
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


class IdentityRecord(Base):
    __tablename__ = "identity_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300), default="")
    country: Mapped[str | None] = mapped_column(String(2))
    #: ``{attribute: [[raw, normalized], ...]}``.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    upstream_updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: The record this one was matched to when it joined its customer (``None``: the customer's anchor).
    matched_source: Mapped[str | None] = mapped_column(String(40))
    matched_entity: Mapped[str | None] = mapped_column(String(40))
    matched_external_id: Mapped[str | None] = mapped_column(String(200))
    rule: Mapped[str | None] = mapped_column(String(100))
    score: Mapped[float | None] = mapped_column(Float)
    #: The criteria of ``rule`` on this pair:
    #: ``[{attribute, method, threshold, passed, score, left, right}]``.
    evidence: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("source", "entity", "external_id", name="uq_identity_records_record"),)


class IdentityDecision(Base):
    __tablename__ = "identity_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: ``merge`` or ``split``.
    kind: Mapped[str] = mapped_column(String(10))
    #: The surviving customer of a merge; the customer a split took records from.
    customer_id: Mapped[str] = mapped_column(String(40))
    #: The merged-away customers of a merge; the new customer of a split.
    other_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Record keys ``[source, entity, external_id]``: the merged side of a merge, the split-off records of a
    #: split.
    records: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    #: Record keys on the other side: the survivor's records of a merge, the records left by a split.
    counterpart: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    actor: Mapped[str] = mapped_column(String(200), default="anonymous")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class IdentityWatermark(Base):
    __tablename__ = "identity_watermarks"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    entity: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: The newest ``updated_at`` read; the next incremental run scans records changed after it.
    watermark: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_run_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    records_read: Mapped[int] = mapped_column(Integer, default=0)


class IdentityRun(Base):
    __tablename__ = "identity_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ``running``, ``succeeded`` or ``failed``.
    status: Mapped[str] = mapped_column(String(20), default="running")
    #: Hash of the rules, limits and normalizers: when it changes, the next run is a full one.
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
