"""``POST /hooks/{source}``: a silo (or a relay in front of it) tells the hub which records changed.

Authentication is an HMAC-SHA256 signature with the source's shared secret (``hooks.{source}.secret``),
over the timestamp and the raw body, so the secret never travels and a captured request cannot be replayed
later::

    X-Crmhub-Timestamp: 1732377600                      # Unix seconds when the notification was sent
    X-Crmhub-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

    {"entity": "order", "ids": ["10248", "10249"], "related": {"customer_external_id": ["7"]}}
    {"changes": [{"entity": "customer", "ids": ["7"]}, {"entity": "order", "ids": ["10248"]}]}

Answers: 200 ``{"removed": n}``; 400 for a body that is not such a change list; 401 when the signature or
timestamp is missing, wrong or too old (``max_age_seconds``, default 300); 404 for a source without a hook
(the same answer as for an unknown source, so the endpoint does not reveal which sources exist); 413 for
a body over 1 MiB; 503 when the cache cannot be reached.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .errors import HubError
from .invalidation import CacheUnavailable, invalidate

if TYPE_CHECKING:
    from .hub import Hub

TIMESTAMP_HEADER = "x-crmhub-timestamp"
SIGNATURE_HEADER = "x-crmhub-signature"
MAX_BODY = 1 << 20
MAX_CHANGES = 100


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The ``X-Crmhub-Signature`` value a sender puts on ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: str, body: bytes) -> dict[str, str]:
    """The headers a sender puts on ``body`` sent now: content type, timestamp and signature."""
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


async def send_change(
    hub_url: str, source: str, secret: str, change: dict[str, Any], *, timeout_seconds: float = 10.0
) -> tuple[int, str]:
    """Post ``change`` to ``{hub_url}/hooks/{source}`` signed with ``secret``: the status and body of the
    answer. Raises ``ValueError`` when the hub cannot be reached at all."""
    body = orjson.dumps(change)
    target = f"{hub_url.rstrip('/')}/hooks/{source}"
    try:
        async with httpx.AsyncClient(timeout=timeout_seconds, trust_env=False) as client:
            response = await client.post(target, content=body, headers=signed_headers(secret, body))
    except httpx.InvalidURL:
        raise ValueError(f"{hub_url!r} is not a valid URL") from None
    except httpx.UnsupportedProtocol:
        raise ValueError(f"{hub_url!r} is not an http(s) URL") from None
    except httpx.HTTPError as exc:
        raise ValueError(f"cannot reach the hub at {hub_url} ({type(exc).__name__})") from None
    return response.status_code, response.text


def _problem(status: int, code: str, detail: str) -> Response:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


def _verified(secret: str, max_age: int, request: Request, body: bytes) -> str | None:
    """``None`` when the signature holds, else why not (said to the sender, who owns the secret)."""
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not timestamp or not signature:
        return f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required"
    if not timestamp.isdigit():
        return f"{TIMESTAMP_HEADER} must be Unix seconds"
    if abs(time.time() - int(timestamp)) > max_age:
        return f"the timestamp is more than {max_age} s away from the hub's clock"
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        return "the signature does not match"
    return None


def _changes(payload: Any) -> list[dict[str, Any]]:
    changes = payload.get("changes") if isinstance(payload, dict) and "changes" in payload else [payload]
    if not isinstance(changes, list) or not changes:
        raise ValueError('the body must be a change object or {"changes": [change, ...]}')
    if len(changes) > MAX_CHANGES:
        raise ValueError(f"at most {MAX_CHANGES} changes per notification")
    for change in changes:
        if not isinstance(change, dict) or not isinstance(change.get("entity"), str):
            raise ValueError('every change needs an "entity" (e.g. "order")')
        unknown = sorted(set(change) - {"entity", "ids", "related"})
        if unknown:
            raise ValueError(f"unknown field(s) in a change: {', '.join(unknown)}")
        ids, related = change.get("ids"), change.get("related")
        if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str | int) for i in ids)):
            raise ValueError('"ids" must be a list of record ids')
        if related is not None and not (
            isinstance(related, dict) and all(isinstance(v, list) for v in related.values())
        ):
            raise ValueError('"related" must map relation fields to lists of values')
        if ids is None and related is None:
            raise ValueError('every change needs "ids" or "related"')
    return changes


def hook_endpoint(hub: Callable[[], Hub | None]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        running = hub()
        if running is None:
            return Response("starting", status_code=503)
        source = request.path_params["source"]
        hook = running.settings.hooks.get(source)
        if hook is None or source not in running.sources.names():
            return _problem(404, "unknown_hook", "no change hook is configured for this source")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
            return _problem(413, "too_large", f"the body must be at most {MAX_BODY} bytes")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _problem(413, "too_large", f"the body must be at most {MAX_BODY} bytes")
        problem = _verified(hook.secret.get_secret_value(), hook.max_age_seconds, request, body)
        if problem is not None:
            return _problem(401, "unauthorized", problem)
        try:
            changes = _changes(orjson.loads(body))
        except orjson.JSONDecodeError:
            return _problem(400, "invalid_json", "the body is not JSON")
        except ValueError as exc:
            return _problem(400, "invalid_change", str(exc))
        removed = 0
        try:
            for change in changes:
                ids = change.get("ids")
                result = await invalidate(
                    running,
                    source=source,
                    entity=change["entity"],
                    ids=[str(i) for i in ids] if ids is not None else None,
                    related={
                        k: [str(v) for v in values] for k, values in (change.get("related") or {}).items()
                    },
                )
                removed += result.removed
        except CacheUnavailable as exc:
            return _problem(503, "cache_unavailable", exc.message)
        except HubError as exc:
            return _problem(400, exc.code.lower(), exc.message)
        return JSONResponse({"removed": removed})

    return endpoint
