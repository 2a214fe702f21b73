"""The CRM event log: services append what happened to leads and opportunities, the timeline reads it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from .models import CrmEvent
from .types import utcnow


def record_event(
    session: AsyncSession,
    *,
    kind: str,
    subject_type: str,
    subject_id: str,
    title: str,
    actor: str,
    customer_id: str | None = None,
    amount_minor: int | None = None,
    currency: str | None = None,
    data: dict[str, Any] | None = None,
) -> CrmEvent:
    """Add one event to the session's transaction, so it commits (or not) with the change it describes."""
    event = CrmEvent(
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        customer_id=customer_id,
        title=title[:300],
        amount_minor=amount_minor,
        currency=currency,
        data=data or {},
        occurred_at=utcnow(),
        actor=actor,
    )
    session.add(event)
    return event
