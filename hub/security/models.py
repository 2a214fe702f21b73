"""Tables of the security layer (migration 0004): API keys, stored hashed, and the audit log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.crm.types import UtcDateTime, utcnow
from hub.store.models import Base


class ApiKey(Base):
    """An API key: only the SHA-256 of the key is kept, so a copy of the database holds no usable key."""

    __tablename__ = "security_api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    #: Territory ids the key is bound to (their subtrees are in scope for ``rows: territory`` roles).
    territories: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: A sales rep the key acts for: the rep's territories are in scope too.
    rep_id: Mapped[str | None] = mapped_column(String(40))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the key, to recognise it in listings.
    prefix: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(200))


class AuditEntry(Base):
    """One mutation: who, what, when, on which record, and how it ended. Rows are never updated."""

    __tablename__ = "security_audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    principal_id: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(40))
    #: The mutation (``updateLead``) or command (``keys revoke``).
    operation: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str | None] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(200))
    #: ``ok``, ``rejected`` (the payload carried errors), ``forbidden`` or ``error``.
    outcome: Mapped[str] = mapped_column(String(20))
    #: Error codes of a rejected or failed call; never input values (they may be personal or secret).
    detail: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index("ix_security_audit_log_occurred", "occurred_at", "id"),
        Index("ix_security_audit_log_entity", "entity", "entity_id"),
    )
