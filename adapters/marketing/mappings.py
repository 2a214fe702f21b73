"""How the marketing API's audience members and campaign e-mail activity map onto the canonical entities."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.sdk import Entity, EntityMapping
from adapters.sdk.types import RawRecord

#: Filled by the adapter from the audience itself (members only carry its id).
LIST_NAME = "_list_name"

MEMBER = EntityMapping(
    Entity.MARKETING_MEMBER,
    {
        "external_id": "id",  # the subscriber hash: MD5 of the lower-cased address
        "email": "email_address",
        "status": "status",
        "list_id": "list_id",
        "list_name": LIST_NAME,
        "first_name": "merge_fields.FNAME",
        "last_name": "merge_fields.LNAME",
        "company": "merge_fields.COMPANY",
        "phone": "merge_fields.PHONE",
        "updated_at": "last_changed",
    },
    relations=frozenset({"email"}),
)

#: Maps the flattened events of ``activity_events`` (one record per open, click, bounce...).
ACTIVITY = EntityMapping(
    Entity.CAMPAIGN_ACTIVITY,
    {
        "external_id": "id",
        "email": "email",
        "campaign_id": "campaign_id",
        "campaign_name": "campaign_name",
        "action": "action",
        "occurred_at": "timestamp",
        "updated_at": "timestamp",
    },
    relations=frozenset({"email"}),
)


def without_blank_merge_fields(member: RawRecord) -> RawRecord:
    """Merge fields the member never filled come as ``""``; canonical records say ``None``."""
    fields = member.get("merge_fields")
    if not isinstance(fields, Mapping):
        return member
    kept = {
        name: value for name, value in fields.items() if not (isinstance(value, str) and not value.strip())
    }
    return {**member, "merge_fields": kept}


def activity_events(campaign_id: str, campaign_name: str | None, emails: list[RawRecord]) -> list[RawRecord]:
    """One raw record per event of each recipient's ``activity`` list.

    The id is ``campaign:subscriber:action:timestamp`` (events are immutable, so ids stay stable across
    reads and ``since`` windows); repeats of the same event in the same second get ``#2``, ``#3``...
    """
    events: list[RawRecord] = []
    for entry in emails:
        activity: Any = entry.get("activity")
        if not isinstance(activity, list):
            continue
        repeats: dict[str, int] = {}
        for event in activity:
            if not isinstance(event, Mapping):
                continue
            base = f"{campaign_id}:{entry.get('email_id')}:{event.get('action')}:{event.get('timestamp')}"
            repeats[base] = repeats.get(base, 0) + 1
            events.append(
                {
                    "id": base if repeats[base] == 1 else f"{base}#{repeats[base]}",
                    "email": entry.get("email_address"),
                    "campaign_id": campaign_id,
                    "campaign_name": campaign_name,
                    "action": event.get("action"),
                    "timestamp": event.get("timestamp"),
                }
            )
    return events
