"""The hub's security runtime: its authenticator (API keys, JWTs) and rate limiter, created with the hub
and closed with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .authenticate import Authenticator
from .ratelimit import RateLimiter

if TYPE_CHECKING:
    from hub.config import HubSettings
    from hub.store import Database


class HubSecurity:
    def __init__(self, settings: HubSettings, db: Database) -> None:
        self.config = settings.security
        self.authenticator = Authenticator(self.config, db, settings.base_dir)
        self.rate_limiter = RateLimiter(self.config.rate_limit)

    async def aclose(self) -> None:
        await self.authenticator.aclose()
        await self.rate_limiter.aclose()
