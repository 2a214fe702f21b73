"""Circuit breakers shared by the hub processes of one deployment, through the cache's Redis.

Every process still decides from its own calls. What travels between processes is the decisions:

- a breaker that opens on its calls' failures is stored under ``{prefix}:breaker:{source}`` with the rest of
  its cool-down as the key's expiry, and published on ``{prefix}:breakers``;
- a breaker whose probe finds the source answering again deletes that key and publishes the closing.

The other processes adopt both. A source that is down is then spared every process's own run of failures,
one probe per cool-down tests it, and ``sources`` answers the same whichever process serves the query. A
process that starts later reads the keys. Calls never wait for Redis: a decision is sent in the background,
and while Redis is unreachable each process's breakers go on alone, as without sharing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Mapping
from typing import Any

from .breaker import BreakerState, CircuitBreaker

log = logging.getLogger(__name__)

#: First and longest wait before listening again after Redis dropped the subscription.
RECONNECT_SECONDS = (0.5, 30.0)
#: Redis operations give up after this long: the breakers never depend on them.
REDIS_TIMEOUT_SECONDS = 2.0


class SharedBreakers:
    """Shares the decisions of ``breakers`` (by source name) with the other hub processes on ``redis_url``
    that use the same ``prefix``."""

    def __init__(self, redis_url: str, prefix: str, breakers: Mapping[str, CircuitBreaker]) -> None:
        from redis.asyncio import Redis

        self._breakers = dict(breakers)
        self.origin = secrets.token_hex(8)
        self.channel = f"{prefix}:breakers"
        self._key_prefix = f"{prefix}:breaker:"
        self._client = Redis.from_url(
            redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        # The subscription waits for messages as long as there are none: no read timeout on it.
        self._subscriber = Redis.from_url(redis_url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        self._sending: set[asyncio.Task[None]] = set()
        self._listening: asyncio.Task[None] | None = None
        #: Set while subscribed and caught up with the stored decisions.
        self.listening = asyncio.Event()
        for breaker in self._breakers.values():
            breaker.on_decided = self._announce

    def key(self, source: str) -> str:
        return self._key_prefix + source

    def start(self) -> None:
        self._listening = asyncio.get_running_loop().create_task(self._listen())

    async def aclose(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            await asyncio.gather(self._listening, return_exceptions=True)
        if self._sending:  # a decision taken just before shutdown still reaches the others
            await asyncio.wait(self._sending, timeout=REDIS_TIMEOUT_SECONDS)
        for breaker in self._breakers.values():
            breaker.on_decided = None
        await self._client.aclose()
        await self._subscriber.aclose()

    # -- sending ------------------------------------------------------------------------------------

    def _announce(self, breaker: CircuitBreaker, state: BreakerState) -> None:
        decision = {
            "origin": self.origin,
            "source": breaker.name,
            "state": state.value,
            "reason": breaker.opened_reason,
            "retry_in": breaker.retry_in(),
        }
        task = asyncio.get_running_loop().create_task(self._send(decision))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, decision: dict[str, Any]) -> None:
        message = json.dumps(decision)
        key = self.key(decision["source"])
        try:
            if decision["state"] == BreakerState.OPEN.value:
                await self._client.set(key, message, px=max(1, round(decision["retry_in"] * 1000)))
            else:
                await self._client.delete(key)
            await self._client.publish(self.channel, message)
        except Exception as exc:  # Redis is down: this process's breaker has decided all the same
            log.warning(
                "the %s breaker's state was not shared (Redis: %s)", decision["source"], type(exc).__name__
            )

    # -- receiving ----------------------------------------------------------------------------------

    async def _listen(self) -> None:
        delay = RECONNECT_SECONDS[0]
        while True:
            pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                await self._catch_up()
                self.listening.set()
                delay = RECONNECT_SECONDS[0]
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self.apply(message.get("data"))
            except Exception as exc:
                if self.listening.is_set():
                    problem = type(exc).__name__
                    log.warning("no longer hearing the other processes' breakers (Redis: %s)", problem)
                self.listening.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_SECONDS[1])
            finally:
                await pubsub.aclose()

    async def _catch_up(self) -> None:
        """Adopt the open breakers stored while this process was not listening."""
        for source in self._breakers:
            stored, left_ms = await asyncio.gather(
                self._client.get(self.key(source)), self._client.pttl(self.key(source))
            )
            if stored is not None and left_ms > 0:
                self.apply(stored, retry_in=left_ms / 1000)

    def apply(self, data: Any, *, retry_in: float | None = None) -> None:
        """Adopt another process's decision (a published or stored message); anything else is ignored."""
        try:
            decision = json.loads(data)
            source, state, origin = decision["source"], decision["state"], decision["origin"]
            breaker = self._breakers.get(source)
            if origin == self.origin or breaker is None:
                return
            if state == BreakerState.OPEN.value:
                reason = decision.get("reason") or "failures"
                wait = float(decision["retry_in"]) if retry_in is None else retry_in
                breaker.adopt_open(f"{reason}, seen by another hub process", wait)
            elif state == BreakerState.CLOSED.value:
                breaker.adopt_closed()
        except (TypeError, ValueError, KeyError):
            log.warning("ignored a breaker message that is not one: %r", data)
