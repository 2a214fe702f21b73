"""Stable hub customer ids."""

from __future__ import annotations

import base64
import uuid

_NAMESPACE = uuid.UUID("6f1c3b0e-8a57-4b7e-9f0e-4a1d2c3b4e5f")


def hub_customer_id(source: str, external_id: str, generation: int = 0) -> str:
    """The id a hub customer gets when it is first created from ``(source, external_id)``.

    Derived, not random, so rebuilding the identity map from the same silos gives the same ids; once
    stored it never changes, whatever later links or merges do. ``generation`` > 0 gives further ids for the
    same record, for when its first id is taken (a record split off the customer that was created from it).
    """
    name = f"{source}\x1f{external_id}" + (f"\x1f{generation}" if generation else "")
    digest = uuid.uuid5(_NAMESPACE, name).bytes
    return "cus_" + base64.b32encode(digest).decode().rstrip("=").lower()
