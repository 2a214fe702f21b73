"""The support desk's HTTP API, shaped like the real product's (paths also work with a ``.json`` suffix).

Auth: HTTP Basic with ``{email}/token`` as user name and the API token as password.

* ``GET /api/v2/{organizations|users|tickets}``: cursor pagination (``page[size]`` <= 100, ``page[after]``,
  ``page[before]``; ``meta.has_more``, ``meta.after_cursor``, ``links.next``) or offset pagination (``page``,
  ``per_page``; ``next_page``, ``count``; only the first 10,000 records). ``/users`` takes ``role=``.
* ``GET /api/v2/{...}/{id}``, ``GET /api/v2/{...}/show_many?ids=1,2`` (at most 100 ids; organizations also
  take ``external_ids=``), ``GET /api/v2/organizations/{id}/{tickets|users}``,
  ``GET /api/v2/users/{id}/tickets/requested``.
* ``GET /api/v2/search?query=type:ticket organization_id:5`` (offset pages, at most 1,000 results, optional
  ``sort_by``/``sort_order``) and ``GET /api/v2/search/export?query=...&filter[type]=ticket`` (cursor pages).
* ``GET /api/v2/incremental/{tickets|users}/cursor?start_time=<unix>`` then ``?cursor=``: everything changed
  at or after ``start_time`` by update time, ``after_cursor``/``after_url``/``end_of_stream``;
  ``GET /api/v2/incremental/organizations?start_time=`` is the time-based variant (``next_page``,
  ``end_time``).

Errors: ``{"error": ..., "description": ...}`` with 400, 401, 404, 429 (+ ``Retry-After``), 500, 503.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .._hashing import hex_id
from ..faults import FailureKind, Faults, FaultsMiddleware, control_routes
from ..http import ParamError, basic_credentials, int_param, json_response
from ..limits import RateLimit, RateLimiter, RateLimitMiddleware
from .data import SupportData
from .render import MAX_PAGE_SIZE, decode_cursor, encode_cursor, paginate, render, url_with
from .search import SearchError, search

#: The product's default plan allows 700 requests per minute.
DEFAULT_LIMIT = RateLimit(per_minute=700)
SHOW_MANY_LIMIT = 100
SEARCH_RESULT_LIMIT = 1000
EXPORT_PAGE_LIMIT = 1000


@dataclass(frozen=True)
class SupportCredentials:
    email: str
    api_token: str

    @classmethod
    def for_seed(cls, seed: int) -> SupportCredentials:
        return cls(email="integrations@crmhub-demo.example", api_token=hex_id(40, seed, "support-token"))

    @property
    def username(self) -> str:
        return f"{self.email}/token"


def error(status: int, name: str, description: str) -> Response:
    return json_response({"error": name, "description": description}, status)


def render_failure(status: int, kind: FailureKind, detail: str) -> Response:
    if kind == "rate_limited":
        return error(
            429, "APIRateLimitExceeded", f"Number of allowed API requests per minute exceeded. {detail}"
        )
    if kind == "unavailable":
        return error(503, "ServiceUnavailable", detail)
    return error(500, "InternalError", detail)


class _StripJsonSuffix:
    """``/api/v2/tickets.json`` and ``/api/v2/tickets`` are the same endpoint."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith(".json"):
            scope = {**scope, "path": scope["path"][:-5], "raw_path": scope["path"][:-5].encode()}
        await self.app(scope, receive, send)


def _ids_param(request: Request, name: str) -> list[str]:
    raw = request.query_params.get(name, "")
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if len(values) > SHOW_MANY_LIMIT:
        raise ParamError(f"{name} takes at most {SHOW_MANY_LIMIT} values, got {len(values)}")
    return values


def _int_ids(values: list[str], name: str) -> list[int]:
    bad = [v for v in values if not v.isdigit()]
    if bad:
        raise ParamError(f"{name} must be comma-separated numeric ids; not ids: {', '.join(bad[:5])}")
    return [int(v) for v in values]


def create_app(
    data: SupportData,
    *,
    credentials: SupportCredentials,
    faults: Faults | None = None,
    limits: RateLimit = DEFAULT_LIMIT,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    faults = faults if faults is not None else Faults()
    by_id: dict[str, dict[int, Any]] = {
        "organizations": data.organization_by_id,
        "users": data.user_by_id,
        "tickets": data.ticket_by_id,
    }
    singular = {"organizations": "organization", "users": "user", "tickets": "ticket"}
    role_lists: dict[str, tuple[list[int], list[Any]]] = {}

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def guarded(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            if basic_credentials(request) != (credentials.username, credentials.api_token):
                return error(401, "Couldn't authenticate you", "Missing or wrong API token credentials.")
            try:
                return json_response(handler(request))
            except ParamError as exc:
                return error(
                    400, "InvalidPaginationParameter" if "page" in str(exc) else "InvalidValue", str(exc)
                )
            except SearchError as exc:
                return error(400, "InvalidSearch", str(exc))
            except LookupError as exc:
                return error(404, "RecordNotFound", f"Not found: {exc.args[0]}")

        return endpoint

    def listing(collection: str) -> Callable[[Request], Any]:
        def handler(request: Request) -> Any:
            records: list[Any] = list(data.collection(collection))
            ids = data.ids[collection]
            role = request.query_params.get("role")
            if collection == "users" and role:
                if role not in ("end-user", "agent", "admin"):
                    raise ParamError(f"role must be end-user, agent or admin, got {role!r}")
                if role not in role_lists:
                    chosen = [u for u in data.users if u.role == role]
                    role_lists[role] = ([u.id for u in chosen], chosen)
                ids, records = role_lists[role]
            return paginate(request, collection, ids, records, base(request))

        return handler

    def show(collection: str) -> Callable[[Request], Any]:
        def handler(request: Request) -> Any:
            record = by_id[collection].get(request.path_params["record_id"])
            if record is None:
                raise LookupError(f"{singular[collection]} {request.path_params['record_id']}")
            return {singular[collection]: render(base(request), record)}

        return handler

    def show_many(collection: str) -> Callable[[Request], Any]:
        def handler(request: Request) -> Any:
            if collection == "organizations" and "external_ids" in request.query_params:
                wanted = _ids_param(request, "external_ids")
                found = [data.organization_by_external_id.get(v.lower()) for v in wanted]
            elif "ids" in request.query_params:
                found = [by_id[collection].get(i) for i in _int_ids(_ids_param(request, "ids"), "ids")]
            else:
                raise ParamError(
                    "ids is required" + (" (or external_ids)" if collection == "organizations" else "")
                )
            return {collection: [render(base(request), r) for r in found if r is not None]}

        return handler

    def related(
        collection: str, index: dict[int, list[Any]], parent: dict[int, Any]
    ) -> Callable[[Request], Any]:
        def handler(request: Request) -> Any:
            parent_id = request.path_params["record_id"]
            if parent_id not in parent:
                raise LookupError(str(parent_id))
            records = index.get(parent_id, [])
            return paginate(request, collection, [r.id for r in records], records, base(request))

        return handler

    def run_search(request: Request) -> list[tuple[str, Any]]:
        query = request.query_params.get("query")
        if not query:
            raise ParamError("query is required")
        results = search(data, query)
        sort_by = request.query_params.get("sort_by")
        if sort_by:
            keys: dict[str, Callable[[Any], Any]] = {
                "created_at": lambda r: r.created,
                "updated_at": lambda r: r.updated,
                "status": lambda r: getattr(r, "status", "") or "",
                "priority": lambda r: getattr(r, "priority", "") or "",
                "ticket_type": lambda r: getattr(r, "type", "") or "",
            }
            if sort_by not in keys:
                raise ParamError(f"sort_by must be one of {', '.join(keys)}, got {sort_by!r}")
            descending = request.query_params.get("sort_order", "desc") != "asc"
            results.sort(key=lambda pair: keys[sort_by](pair[1]), reverse=descending)
        return results

    def search_json(request: Request, pairs: list[tuple[str, Any]]) -> list[dict[str, Any]]:
        return [{**render(base(request), record), "result_type": kind} for kind, record in pairs]

    def search_endpoint(request: Request) -> Any:
        results = run_search(request)
        per_page = int_param(request, "per_page", MAX_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
        number = int_param(request, "page", 1, minimum=1)
        if number * per_page > SEARCH_RESULT_LIMIT:
            raise ParamError(
                f"search returns at most {SEARCH_RESULT_LIMIT} results "
                f"(page {number} x per_page {per_page}); "
                "use /api/v2/search/export for more"
            )
        start = (number - 1) * per_page
        visible = min(len(results), SEARCH_RESULT_LIMIT)
        return {
            "results": search_json(request, results[start : min(start + per_page, visible)]),
            "facets": None,
            "next_page": url_with(request, page=number + 1) if start + per_page < visible else None,
            "previous_page": url_with(request, page=number - 1) if number > 1 else None,
            "count": len(results),
        }

    def search_export(request: Request) -> Any:
        kind = request.query_params.get("filter[type]")
        if kind not in ("ticket", "user", "organization"):
            raise ParamError("filter[type] is required: ticket, user or organization")
        query = f"{request.query_params.get('query', '')} type:{kind}"
        pairs = search(data, query)
        records = [record for _, record in pairs]
        size = int_param(request, "page[size]", MAX_PAGE_SIZE, minimum=1, maximum=EXPORT_PAGE_LIMIT)
        after = request.query_params.get("page[after]")
        start = 0
        if after:
            payload = decode_cursor(after, "page[after]")
            last_id = payload.get("v") if isinstance(payload, dict) else None
            if not isinstance(last_id, int):
                raise ParamError("page[after] is not a cursor this endpoint issued")
            start = next((k for k, r in enumerate(records) if r.id > last_id), len(records))
        page = records[start : start + size]
        has_more = start + size < len(records)
        after_cursor = encode_cursor({"o": "id", "v": page[-1].id}) if page else None
        return {
            "results": search_json(request, [(kind, r) for r in page]),
            "facets": None,
            "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": None},
            "links": {
                "next": url_with(request, page_after=after_cursor) if has_more and after_cursor else None,
                "prev": None,
            },
        }

    def start_time_param(request: Request) -> dt.datetime:
        raw = request.query_params.get("start_time")
        if raw is None or not raw.lstrip("-").isdigit():
            raise ParamError("start_time is required: a Unix epoch time in seconds")
        seconds = int(raw)
        if seconds > time.time() - 60:
            raise ParamError("start_time must be more than one minute in the past")
        return dt.datetime.fromtimestamp(max(seconds, 0), tz=dt.UTC)

    def incremental_cursor(collection: str) -> Callable[[Request], Any]:
        timeline = data.timelines[collection]

        def handler(request: Request) -> Any:
            per_page = int_param(request, "per_page", EXPORT_PAGE_LIMIT, minimum=1, maximum=EXPORT_PAGE_LIMIT)
            cursor = request.query_params.get("cursor")
            if cursor:
                payload = decode_cursor(cursor, "cursor")
                if not (
                    isinstance(payload, list)
                    and len(payload) == 2
                    and all(isinstance(v, int | float) for v in payload)
                ):
                    raise ParamError("cursor is not a cursor this endpoint issued")
                start = timeline.after((dt.datetime.fromtimestamp(payload[0], tz=dt.UTC), int(payload[1])))
            else:
                start = timeline.at_or_after(start_time_param(request))
            page = timeline.records[start : start + per_page]
            end_of_stream = start + per_page >= len(timeline.records)
            if page:
                last = page[-1]
                after = encode_cursor([last.updated.timestamp(), last.id])
            else:
                after = cursor or encode_cursor([start_time_param(request).timestamp(), -1])
            return {
                collection: [render(base(request), r) for r in page],
                "after_url": f"{base(request)}/api/v2/incremental/{collection}/cursor.json?cursor={after}",
                "after_cursor": after,
                "before_url": None,
                "before_cursor": None,
                "end_of_stream": end_of_stream,
            }

        return handler

    def incremental_organizations(request: Request) -> Any:
        timeline = data.timelines["organizations"]
        per_page = int_param(request, "per_page", EXPORT_PAGE_LIMIT, minimum=1, maximum=EXPORT_PAGE_LIMIT)
        since = start_time_param(request)
        start = timeline.at_or_after(since)
        page = timeline.records[start : start + per_page]
        end_time = int(page[-1].updated.timestamp()) if page else int(since.timestamp())
        return {
            "organizations": [render(base(request), r) for r in page],
            "next_page": url_with(request, start_time=end_time),
            "count": len(page),
            "end_of_stream": len(page) < per_page,
            "end_time": end_time,
        }

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        if status == 405:
            return error(405, "MethodNotAllowed", f"{request.method} is not allowed on {request.url.path}")
        return error(404, "InvalidEndpoint", f"Not found: {request.url.path}")

    routes = [*control_routes(faults)]
    for collection in ("organizations", "users", "tickets"):
        routes += [
            Route(f"/api/v2/{collection}", guarded(listing(collection))),
            Route(f"/api/v2/{collection}/show_many", guarded(show_many(collection))),
            Route(f"/api/v2/{collection}/{{record_id:int}}", guarded(show(collection))),
        ]
    routes += [
        Route(
            "/api/v2/organizations/{record_id:int}/tickets",
            guarded(related("tickets", data.tickets_by_organization, data.organization_by_id)),
        ),
        Route(
            "/api/v2/organizations/{record_id:int}/users",
            guarded(related("users", data.users_by_organization, data.organization_by_id)),
        ),
        Route(
            "/api/v2/users/{record_id:int}/tickets/requested",
            guarded(related("tickets", data.tickets_by_requester, data.user_by_id)),
        ),
        Route("/api/v2/search", guarded(search_endpoint)),
        Route("/api/v2/search/export", guarded(search_export)),
        Route("/api/v2/incremental/tickets/cursor", guarded(incremental_cursor("tickets"))),
        Route("/api/v2/incremental/users/cursor", guarded(incremental_cursor("users"))),
        Route("/api/v2/incremental/organizations", guarded(incremental_organizations)),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(_StripJsonSuffix),
            Middleware(RateLimitMiddleware, limiter=RateLimiter(limits, clock), errors=render_failure),
            Middleware(FaultsMiddleware, faults=faults, errors=render_failure),
        ],
        exception_handlers={404: not_found, 405: not_found},
    )
    app.state.faults = faults
    app.state.credentials = credentials
    app.state.data = data
    return app
