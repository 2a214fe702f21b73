"""Switchable misbehaviour shared by every silo: latency, jitter, random errors, outages, broken bodies, 429s.

A ``Faults`` object is read by ``FaultsMiddleware`` on every request, so tests and benchmarks can change it at
runtime, either in-process (``faults.update(error_rate=0.2)``) or over HTTP (``POST /_silo/faults`` with a
JSON object of the fields to change; ``DELETE /_silo/faults`` restores the defaults). The control endpoints
under ``/_silo/`` are never subject to faults or rate limits, so a silo that is "down" can always be brought
back.

Each silo renders failures in its own product's error format through an ``ErrorRenderer``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, Protocol

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DownMode = Literal["503", "close"]
FailureKind = Literal["unavailable", "rate_limited", "internal"]

CONTROL_PREFIX = "/_silo/"


class FaultsError(ValueError):
    """A fault setting that makes no sense (negative latency, error rate above 1, unknown field...)."""


class ErrorRenderer(Protocol):
    """Builds a silo's own error response for a failure the middleware injects."""

    def __call__(self, status: int, kind: FailureKind, detail: str) -> Response: ...


@dataclass
class Faults:
    """The misbehaviour currently switched on for one silo (all off by default).

    ``down="503"`` answers every request with 503; ``down="close"`` drops the connection before a complete
    response is sent. ``error_rate`` answers that fraction of requests with 500, drawn from a random stream
    seeded by ``seed`` so a run is reproducible. ``malformed`` cuts every JSON body in half.
    ``forced_429`` answers 429 with ``Retry-After: retry_after``.
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    down: DownMode | None = None
    malformed: bool = False
    forced_429: bool = False
    retry_after: int = 1
    seed: int = 0
    _error_rng: random.Random = field(init=False, repr=False, compare=False)
    _jitter_rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._validate()
        self._reseed()

    @classmethod
    def settings(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if not f.name.startswith("_"))

    def _reseed(self) -> None:
        # Two streams: switching jitter on must not change which requests fail.
        self._error_rng = random.Random(self.seed)
        self._jitter_rng = random.Random(self.seed + 1)

    def _validate(self) -> None:
        if not isinstance(self.latency_ms, int | float) or self.latency_ms < 0:
            raise FaultsError("latency_ms must be a number >= 0")
        if not isinstance(self.jitter_ms, int | float) or self.jitter_ms < 0:
            raise FaultsError("jitter_ms must be a number >= 0")
        if not isinstance(self.error_rate, int | float) or not 0 <= self.error_rate <= 1:
            raise FaultsError("error_rate must be a number between 0 and 1")
        if self.down not in (None, "503", "close"):
            raise FaultsError("down must be null, '503' or 'close'")
        for flag in ("malformed", "forced_429"):
            if not isinstance(getattr(self, flag), bool):
                raise FaultsError(f"{flag} must be true or false")
        if (
            isinstance(self.retry_after, bool)
            or not isinstance(self.retry_after, int)
            or self.retry_after < 0
        ):
            raise FaultsError("retry_after must be an integer >= 0 (seconds)")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise FaultsError("seed must be an integer")

    def update(self, **changes: Any) -> None:
        """Change some settings at once; on a bad value nothing changes and ``FaultsError`` says why."""
        unknown = sorted(set(changes) - set(self.settings()))
        if unknown:
            raise FaultsError(
                f"unknown fault setting(s): {', '.join(unknown)}; known: {', '.join(self.settings())}"
            )
        if changes.get("down") == 503:
            changes["down"] = "503"
        candidate = Faults(**{**self.as_dict(), **changes})
        for name in self.settings():
            setattr(self, name, getattr(candidate, name))
        if "seed" in changes:
            self._reseed()

    def reset(self) -> None:
        self.update(**Faults().as_dict())
        self._reseed()

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}

    def delay_seconds(self) -> float:
        delay = self.latency_ms
        if self.jitter_ms:
            delay += self._jitter_rng.uniform(-self.jitter_ms, self.jitter_ms)
        return max(delay, 0.0) / 1000

    def draw_error(self) -> bool:
        return self.error_rate > 0 and self._error_rng.random() < self.error_rate


class DroppedConnection(Exception):
    """Raised after a response has started so the server closes the socket mid-response."""


class _HideDroppedConnections(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


_DROP_FILTER = _HideDroppedConnections()


def hide_dropped_connection_logs() -> None:
    """The server logs every aborted response as an application error; a deliberate drop is not one."""
    logger = logging.getLogger("uvicorn.error")
    if _DROP_FILTER not in logger.filters:
        logger.addFilter(_DROP_FILTER)


class FaultsMiddleware:
    """Applies a ``Faults`` object to every request outside ``/_silo/``."""

    def __init__(self, app: ASGIApp, *, faults: Faults, errors: ErrorRenderer) -> None:
        self.app = app
        self.faults = faults
        self.errors = errors
        hide_dropped_connection_logs()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        faults = self.faults
        if faults.down == "close":
            # ASGI's only way to abort: start a response, then fail; the server then closes the socket and
            # the client sees a connection that died before a complete response.
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4096")]}
            )
            raise DroppedConnection
        if faults.down == "503":
            response = self.errors(503, "unavailable", "The service is temporarily unavailable.")
            response.headers["Retry-After"] = str(faults.retry_after)
            await response(scope, receive, send)
            return
        delay = faults.delay_seconds()
        if not delay:
            await self._answer(scope, receive, send)
            return
        # A remote system's latency runs from the moment the request reaches it: the answer is prepared
        # while the request waits and leaves when the latency has passed. (Preparing it after the wait
        # would add this process's CPU to every latency, and queue the answers of all three silos, which
        # share one event loop here, behind each other: a cost of the simulation, not of a slow system.)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        try:
            await self._answer(scope, receive, hold)
        except Exception:
            await self._release(held, deadline, send)
            raise
        await self._release(held, deadline, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self.faults
        if faults.forced_429:
            response = self.errors(429, "rate_limited", "Too many requests.")
            response.headers["Retry-After"] = str(faults.retry_after)
            await response(scope, receive, send)
            return
        if faults.draw_error():
            await self.errors(500, "internal", "An internal error occurred.")(scope, receive, send)
            return
        if faults.malformed:
            await self._send_truncated(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _release(held: list[Message], deadline: float, send: Send) -> None:
        await asyncio.sleep(max(0.0, deadline - asyncio.get_running_loop().time()))
        for message in held:
            await send(message)

    async def _send_truncated(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        body = bytearray()

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, capture)
        if start is None:
            return
        cut = bytes(body[: len(body) // 2]) if len(body) > 1 else b"{"
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(cut)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": cut})


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def control_routes(faults: Faults) -> list[Route]:
    """``GET|POST|DELETE /_silo/faults``: read, change or reset the faults over HTTP."""

    async def read(_: Request) -> Response:
        return _json(faults.as_dict())

    async def change(request: Request) -> Response:
        try:
            changes = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            return _json({"error": "invalid_json", "detail": f"the body is not JSON: {exc}"}, 400)
        if not isinstance(changes, dict):
            return _json({"error": "invalid_faults", "detail": "the body must be a JSON object"}, 400)
        try:
            faults.update(**changes)
        except FaultsError as exc:
            return _json({"error": "invalid_faults", "detail": str(exc)}, 400)
        return _json(faults.as_dict())

    async def reset(_: Request) -> Response:
        faults.reset()
        return _json(faults.as_dict())

    return [
        Route("/_silo/faults", read, methods=["GET"]),
        Route("/_silo/faults", change, methods=["POST"]),
        Route("/_silo/faults", reset, methods=["DELETE"]),
    ]
