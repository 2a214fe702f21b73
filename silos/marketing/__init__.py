"""The marketing silo: an e-mail marketing product's API (API-key basic auth, one audience with its members,
campaigns and per-member e-mail activity, count/offset paging, problem+json errors)."""

from __future__ import annotations

from .app import DEFAULT_LIMIT, MarketingCredentials, create_app
from .data import MarketingData, subscriber_hash

__all__ = ["DEFAULT_LIMIT", "MarketingCredentials", "MarketingData", "create_app", "subscriber_hash"]
