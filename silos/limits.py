"""Request limits the real products enforce: requests per minute (accounting, support desk) and simultaneous
connections (marketing). Over a limit a silo answers 429 with ``Retry-After``, in its own error format.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from .faults import CONTROL_PREFIX, ErrorRenderer


@dataclass(frozen=True)
class RateLimit:
    """``per_minute``: requests in any sliding 60 s window; ``max_concurrent``: requests in flight.

    ``None`` switches a limit off.
    """

    per_minute: int | None = None
    max_concurrent: int | None = None

    def __post_init__(self) -> None:
        for name in ("per_minute", "max_concurrent"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer or None")


UNLIMITED = RateLimit()


class RateLimiter:
    """Counts requests against a ``RateLimit``; ``clock`` is injectable so tests need not wait a minute."""

    window_seconds = 60.0

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._recent: deque[float] = deque()
        self.in_flight = 0

    def acquire(self) -> tuple[bool, int, str]:
        """``(allowed, retry_after_seconds, why)``; an allowed request must be ``release``d when done."""
        limit = self.limit
        if limit.max_concurrent is not None and self.in_flight >= limit.max_concurrent:
            return False, 1, f"more than {limit.max_concurrent} simultaneous connections"
        if limit.per_minute is not None:
            now = self.clock()
            while self._recent and self._recent[0] <= now - self.window_seconds:
                self._recent.popleft()
            if len(self._recent) >= limit.per_minute:
                wait = self._recent[0] + self.window_seconds - now
                return False, max(1, math.ceil(wait)), f"more than {limit.per_minute} requests per minute"
            self._recent.append(now)
        self.in_flight += 1
        return True, 0, ""

    def release(self) -> None:
        self.in_flight -= 1

    def remaining(self) -> int | None:
        if self.limit.per_minute is None:
            return None
        return max(self.limit.per_minute - len(self._recent), 0)


class RateLimitMiddleware:
    """Rejects requests over the limit with the silo's 429 body and a ``Retry-After`` header."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        errors: ErrorRenderer,
        exempt_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.errors = errors
        self.exempt = (CONTROL_PREFIX, *exempt_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        allowed, retry_after, why = self.limiter.acquire()
        if not allowed:
            response = self.errors(429, "rate_limited", f"Rate limit exceeded: {why}.")
            response.headers["Retry-After"] = str(retry_after)
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.limiter.release()
