"""Per-principal rate limiting: a fixed window of ``requests`` per ``window_seconds``.

Counters live in memory, or in Redis when ``rate_limit.redis_url`` is set so that every hub process counts
against the same budget. When Redis cannot be reached the process falls back to its own counters (and
says so in the log) rather than refusing every request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config import RateLimitConfig

log = logging.getLogger("crmhub.security")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    #: Seconds until the window resets (what ``Retry-After`` says when refused).
    reset_after: int


class MemoryCounters:
    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._window: int | None = None

    async def hit(self, key: str, window: int, ttl: int) -> int:
        if window != self._window:  # a new window: the old counters are worthless
            self._counts.clear()
            self._window = window
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        return count

    async def aclose(self) -> None:
        self._counts.clear()


class RedisCounters:
    def __init__(self, url: str, prefix: str) -> None:
        import redis.asyncio as redis

        self._client: Any = redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._prefix = prefix

    async def hit(self, key: str, window: int, ttl: int) -> int:
        name = f"{self._prefix}{key}:{window}"
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, ttl)
            count, _ = await pipe.execute()
        return int(count)

    async def aclose(self) -> None:
        await self._client.aclose()


class RateLimiter:
    def __init__(self, config: RateLimitConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._memory = MemoryCounters()
        self._redis = (
            RedisCounters(config.redis_url.get_secret_value(), config.key_prefix)
            if config.redis_url
            else None
        )
        self._warned_at = 0.0

    async def check(self, key: str) -> Decision:
        """Count one request of ``key`` (a principal id); refused once the window's budget is spent."""
        limit, seconds = self.config.requests, self.config.window_seconds
        now = self._clock()
        window = int(now // seconds)
        reset_after = max(1, int((window + 1) * seconds - now + 0.999))
        if not self.config.enabled:
            return Decision(True, limit, limit, reset_after)
        count = await self._hit(key, window, seconds * 2)
        return Decision(count <= limit, limit, max(0, limit - count), reset_after)

    async def _hit(self, key: str, window: int, ttl: int) -> int:
        if self._redis is not None:
            try:
                return await self._redis.hit(key, window, ttl)
            except Exception as exc:  # any Redis failure: count locally instead of failing the request
                if time.monotonic() - self._warned_at > 60:
                    self._warned_at = time.monotonic()
                    log.warning(
                        "rate limit counters fall back to memory: Redis failed (%s)", type(exc).__name__
                    )
        return await self._memory.hit(key, window, ttl)

    async def aclose(self) -> None:
        await self._memory.aclose()
        if self._redis is not None:
            await self._redis.aclose()
