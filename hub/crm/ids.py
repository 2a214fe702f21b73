"""Ids of CRM records: a short type prefix and 26 base32 characters, e.g. ``lead_x3k...``.

``derived_id`` gives the same id for the same key, which keeps imports and demo seeding idempotent.
"""

from __future__ import annotations

import base64
import uuid

_NAMESPACE = uuid.UUID("0b6a2f4c-3f0e-4a51-8d7b-2c9e5f1a7d33")

PREFIXES = {
    "rep": "rep",
    "territory": "ter",
    "rule": "rul",
    "member": "mem",
    "lead": "lead",
    "opportunity": "opp",
    "competitor_note": "cmp",
    "activity": "act",
}


def _encode(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=").lower()


def new_id(kind: str) -> str:
    return f"{PREFIXES[kind]}_{_encode(uuid.uuid4().bytes)}"


def derived_id(kind: str, key: str) -> str:
    digest = uuid.uuid5(_NAMESPACE, kind + "\x1f" + key).bytes
    return f"{PREFIXES[kind]}_{_encode(digest)}"
