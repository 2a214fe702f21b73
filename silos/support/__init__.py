"""The support silo: a help desk's API (API-token basic auth, organizations, end users, tickets, search,
cursor pagination and incremental exports)."""

from __future__ import annotations

from .app import DEFAULT_LIMIT, SupportCredentials, create_app
from .data import SupportData

__all__ = ["DEFAULT_LIMIT", "SupportCredentials", "SupportData", "create_app"]
