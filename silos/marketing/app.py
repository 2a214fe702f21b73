"""The marketing silo's HTTP API, shaped like the real product's (version 3.0).

Auth: HTTP Basic with any user name and the API key (``<32 hex>-us21``; the suffix names the datacenter).

* ``GET /3.0/ping``; ``GET /3.0/lists``; ``GET /3.0/lists/{list_id}``;
  ``GET /3.0/lists/{list_id}/merge-fields``
* ``GET /3.0/lists/{list_id}/members`` with ``status``, ``since_last_changed``, ``before_last_changed``
* ``GET /3.0/lists/{list_id}/members/{subscriber_hash}`` (the MD5 of the lower-cased address; the address
  itself is accepted too)
* ``GET /3.0/search-members?query=<email or name>[&list_id=]``: ``exact_matches`` and ``full_search``, at
  most 10 members each
* ``GET /3.0/campaigns`` (``status``, ``list_id``, ``since_send_time``, ``before_send_time``),
  ``GET /3.0/campaigns/{campaign_id}``
* ``GET /3.0/reports/{campaign_id}/email-activity`` (``since``) and ``.../email-activity/{subscriber_hash}``

Collections page with ``count`` (default 10, at most 1000) and ``offset`` and report ``total_items``; every
endpoint takes ``fields`` / ``exclude_fields``. Errors are ``application/problem+json`` bodies with ``type``,
``title``, ``status``, ``detail`` and ``instance``. At most 10 requests may be in flight at once (429 beyond).

Fetching many members by e-mail: the product has no batch read. An adapter answers ``get_many`` by
computing each address's subscriber hash and (a) keeping a local copy of the audience, filled by one paged
scan of ``members`` and refreshed with ``since_last_changed``, or (b) for a few addresses, reading
``members/{hash}`` concurrently within the 10-connection limit. ``search-members`` takes one address per
call, so it is no batch path either. This silo adds no non-standard endpoint for it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._hashing import hex_id
from ..faults import FailureKind, Faults, FaultsMiddleware, control_routes
from ..http import ParamError, basic_credentials, int_param, iso_param, json_response
from ..limits import RateLimit, RateLimiter, RateLimitMiddleware
from .data import ACTIVITY_WINDOW, STATUSES, MarketingData, subscriber_hash
from .render import (
    campaign_json,
    email_activity_json,
    list_json,
    member_json,
    merge_fields_json,
    project,
)

#: The product allows 10 simultaneous connections per user.
DEFAULT_LIMIT = RateLimit(max_concurrent=10)
MAX_COUNT = 1000
SEARCH_LIMIT = 10
ERROR_DOCS = "https://mailchimp.com/developer/marketing/docs/errors/"
_KEY_FORMAT = re.compile(r"^[0-9a-f]{32}-[a-z]{2}\d{1,2}$")


@dataclass(frozen=True)
class MarketingCredentials:
    api_key: str

    def __post_init__(self) -> None:
        if not _KEY_FORMAT.match(self.api_key):
            raise ValueError("api_key must look like <32 hex digits>-<datacenter>, e.g. ...-us21")

    @property
    def datacenter(self) -> str:
        return self.api_key.rsplit("-", 1)[1]

    @classmethod
    def for_seed(cls, seed: int) -> MarketingCredentials:
        return cls(api_key=f"{hex_id(32, seed, 'marketing-key')}-us21")


class ApiError(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def problem(status: int, title: str, detail: str) -> Response:
    body = {
        "type": ERROR_DOCS,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": str(uuid.uuid4()),
    }
    return json_response(body, status, media_type="application/problem+json")


def render_failure(status: int, kind: FailureKind, detail: str) -> Response:
    if kind == "rate_limited":
        return problem(
            429, "Too Many Requests", f"You have exceeded the limit of simultaneous connections. {detail}"
        )
    if kind == "unavailable":
        return problem(503, "Service Unavailable", detail)
    return problem(500, "Internal Server Error", detail)


def create_app(
    data: MarketingData,
    *,
    credentials: MarketingCredentials,
    faults: Faults | None = None,
    limits: RateLimit = DEFAULT_LIMIT,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    faults = faults if faults is not None else Faults()

    def paging(request: Request) -> tuple[int, int]:
        return (
            int_param(request, "count", 10, minimum=1, maximum=MAX_COUNT),
            int_param(request, "offset", 0, minimum=0),
        )

    def check_list(request: Request) -> None:
        if request.path_params["list_id"] != data.list_id:
            raise ApiError(404, "Resource Not Found", "The requested resource could not be found.")

    def endpoint(handler: Callable[[Request], dict[str, Any]]) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            basic = basic_credentials(request)
            if basic is None:
                return problem(401, "API Key Missing", "Your request did not include an API key.")
            if basic[1] != credentials.api_key:
                return problem(
                    401,
                    "API Key Invalid",
                    "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
                )
            try:
                payload = handler(request)
            except ParamError as exc:
                return problem(400, "Invalid Resource", str(exc))
            except ApiError as exc:
                return problem(exc.status, exc.title, exc.detail)
            params = request.query_params
            return json_response(project(payload, params.get("fields"), params.get("exclude_fields")))

        return run

    def ping(_: Request) -> dict[str, Any]:
        return {"health_status": "Everything's Chimpy!"}

    def lists(request: Request) -> dict[str, Any]:
        count, offset = paging(request)
        return {
            "lists": [list_json(data)][offset : offset + count],
            "total_items": 1,
            "constraints": {"may_create": False, "max_instances": 1, "current_total_instances": 1},
        }

    def one_list(request: Request) -> dict[str, Any]:
        check_list(request)
        return list_json(data)

    def merge_fields(request: Request) -> dict[str, Any]:
        check_list(request)
        return merge_fields_json(data)

    def members(request: Request) -> dict[str, Any]:
        check_list(request)
        count, offset = paging(request)
        status = request.query_params.get("status") or None
        if status is not None and status not in (*STATUSES, "transactional", "archived"):
            raise ParamError(f"status must be one of {', '.join(STATUSES)}, transactional or archived")
        matching = data.filtered(
            status, iso_param(request, "since_last_changed"), iso_param(request, "before_last_changed")
        )
        return {
            "members": [member_json(data, m) for m in matching[offset : offset + count]],
            "list_id": data.list_id,
            "total_items": len(matching),
        }

    def member(request: Request) -> dict[str, Any]:
        check_list(request)
        key = request.path_params["subscriber_hash"]
        found = data.by_hash.get(subscriber_hash(key) if "@" in key else key.lower())
        if found is None:
            raise ApiError(404, "Resource Not Found", "The requested resource could not be found.")
        return member_json(data, found)

    def search_members(request: Request) -> dict[str, Any]:
        query = (request.query_params.get("query") or "").strip()
        if not query:
            raise ParamError("query is required: an e-mail address or a first or last name")
        list_id = request.query_params.get("list_id")
        if list_id is not None and list_id != data.list_id:
            raise ApiError(404, "Resource Not Found", "The requested resource could not be found.")
        exact = [data.by_hash[h] for h in [subscriber_hash(query)] if "@" in query and h in data.by_hash]
        tokens = [t for t in query.lower().replace("@", " ").split() if t]
        candidates: set[int] | None = None
        for token in tokens:
            found = set(data.by_name_token.get(token, []))
            candidates = found if candidates is None else candidates & found
        partial = [data.members[i] for i in sorted(candidates or ()) if data.members[i] not in exact]
        return {
            "exact_matches": {
                "members": [member_json(data, m) for m in exact[:SEARCH_LIMIT]],
                "total_items": len(exact),
            },
            "full_search": {
                "members": [member_json(data, m) for m in partial[:SEARCH_LIMIT]],
                "total_items": len(partial),
            },
        }

    def campaigns(request: Request) -> dict[str, Any]:
        count, offset = paging(request)
        status = request.query_params.get("status")
        if status is not None and status not in ("save", "paused", "schedule", "sending", "sent"):
            raise ParamError("status must be one of save, paused, schedule, sending, sent")
        since, before = iso_param(request, "since_send_time"), iso_param(request, "before_send_time")
        list_id = request.query_params.get("list_id")
        chosen = [
            c
            for c in data.campaigns
            if status in (None, "sent")
            and list_id in (None, data.list_id)
            and (since is None or c.send_time > since)
            and (before is None or c.send_time < before)
        ]
        return {
            "campaigns": [campaign_json(data, c) for c in chosen[offset : offset + count]],
            "total_items": len(chosen),
        }

    def campaign(request: Request) -> dict[str, Any]:
        found = data.campaign_by_id.get(request.path_params["campaign_id"])
        if found is None:
            raise ApiError(404, "Resource Not Found", "The requested resource could not be found.")
        return campaign_json(data, found)

    def email_activity(request: Request) -> dict[str, Any]:
        campaign_id = request.path_params["campaign_id"]
        if campaign_id not in data.campaign_by_id:
            raise ApiError(404, "Resource Not Found", "The requested resource could not be found.")
        count, offset = paging(request)
        since = iso_param(request, "since")
        report = data.report(campaign_id)
        emails: list[dict[str, Any] | None]
        if since is None:
            positions = range(offset, min(offset + count, len(report.recipients)))
            emails = [email_activity_json(data, report, p, None) for p in positions]
            total = len(report.recipients)
        else:
            # Only recipients with some activity can match, and nothing happens after the activity window.
            active = report.active_positions() if since < report.campaign.send_time + ACTIVITY_WINDOW else []
            matching = [
                e for e in (email_activity_json(data, report, p, since) for p in active) if e is not None
            ]
            emails, total = list(matching[offset : offset + count]), len(matching)
        return {"emails": emails, "campaign_id": campaign_id, "total_items": total}

    def member_activity(request: Request) -> dict[str, Any]:
        campaign_id = request.path_params["campaign_id"]
        key = request.path_params["subscriber_hash"]
        found = data.by_hash.get(subscriber_hash(key) if "@" in key else key.lower())
        report = data.report(campaign_id) if campaign_id in data.campaign_by_id else None
        position = report.position_of(found.index) if report is not None and found is not None else None
        if report is None or position is None:
            raise ApiError(404, "Resource Not Found", "The requested resource could not be found.")
        body = email_activity_json(data, report, position, None)
        assert body is not None
        return body

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        if status == 405:
            return problem(
                405, "Method Not Allowed", f"{request.method} is not allowed on {request.url.path}"
            )
        return problem(404, "Resource Not Found", "The requested resource could not be found.")

    routes = [
        *control_routes(faults),
        Route("/3.0/ping", endpoint(ping)),
        Route("/3.0/lists", endpoint(lists)),
        Route("/3.0/lists/{list_id}", endpoint(one_list)),
        Route("/3.0/lists/{list_id}/merge-fields", endpoint(merge_fields)),
        Route("/3.0/lists/{list_id}/members", endpoint(members)),
        Route("/3.0/lists/{list_id}/members/{subscriber_hash}", endpoint(member)),
        Route("/3.0/search-members", endpoint(search_members)),
        Route("/3.0/campaigns", endpoint(campaigns)),
        Route("/3.0/campaigns/{campaign_id}", endpoint(campaign)),
        Route("/3.0/reports/{campaign_id}/email-activity", endpoint(email_activity)),
        Route("/3.0/reports/{campaign_id}/email-activity/{subscriber_hash}", endpoint(member_activity)),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RateLimitMiddleware, limiter=RateLimiter(limits, clock), errors=render_failure),
            Middleware(FaultsMiddleware, faults=faults, errors=render_failure),
        ],
        exception_handlers={404: not_found, 405: not_found},
    )
    app.state.faults = faults
    app.state.credentials = credentials
    app.state.data = data
    return app
