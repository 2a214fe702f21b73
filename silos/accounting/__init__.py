"""The accounting silo: an online-accounting product's API (OAuth2 bearer tokens, a realm id in the path, a
SQL-like query endpoint over customers, invoices and payments)."""

from __future__ import annotations

from .app import DEFAULT_LIMIT, AccountingCredentials, create_app
from .data import AccountingData

__all__ = ["DEFAULT_LIMIT", "AccountingCredentials", "AccountingData", "create_app"]
