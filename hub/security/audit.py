"""The audit log: one row per mutation (and per key change made from the command line)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from hub.crm.types import utcnow
from hub.pagination import Page

from .models import AuditEntry
from .principal import Principal

if TYPE_CHECKING:
    from hub.context import RequestContext
    from hub.store import Database

log = logging.getLogger("crmhub.audit")
OUTCOMES = ("ok", "rejected", "forbidden", "error")


async def record_audit(
    db: Database,
    *,
    principal: Principal,
    operation: str,
    outcome: str,
    entity: str | None = None,
    entity_id: str | None = None,
    detail: str | None = None,
) -> None:
    """Append an entry. A failure to write is logged, never raised: the audited change already happened."""
    entry = AuditEntry(
        occurred_at=utcnow(),
        actor=principal.name[:200],
        principal_id=principal.id[:300],
        role=principal.role[:40],
        operation=operation[:100],
        entity=entity[:60] if entity else None,
        entity_id=entity_id[:200] if entity_id else None,
        outcome=outcome,
        detail=detail[:500] if detail else None,
    )
    try:
        async with db.transaction() as session:
            session.add(entry)
    except Exception:
        log.exception("could not write the audit entry of %s by %s", operation, principal.id)


async def audit_page(
    ctx: RequestContext,
    *,
    first: int | None = None,
    after: str | None = None,
    actor: str | None = None,
    operation: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
) -> Page[AuditEntry]:
    """Entries newest first, optionally filtered."""
    from hub.crm.services.common import SortKey, keyset_page, timestamp_key

    statement = select(AuditEntry)
    for column, value in (
        (AuditEntry.actor, actor),
        (AuditEntry.operation, operation),
        (AuditEntry.entity, entity),
        (AuditEntry.entity_id, entity_id),
    ):
        if value is not None:
            statement = statement.where(column == value[:300])
    async with ctx.hub.db.session() as session:
        return await keyset_page(
            ctx,
            session,
            statement,
            kind="audit",
            keys=[timestamp_key(AuditEntry.occurred_at), SortKey(AuditEntry.id)],
            first=first,
            after=after,
            descending=True,
        )
