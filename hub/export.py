"""``GET /export/customers.ndjson``: the bulk export (``services/export.py``) streamed as NDJSON.

Query parameters (all optional): ``since`` (ISO 8601 date or date-time; customers changed at or after it),
``fields`` (comma-separated, from ``name,country,updated_at,sources,orders``; ``id`` is always there) and
``limit`` (at most this many rows). A bad parameter gets 400 with a JSON error naming it.

One line per customer, e.g.::

    {"id":"cus_...","name":"Acme GmbH","country":"DE","updated_at":"2024-05-01T08:00:00+00:00",
     "sources":[{"source":"erp","entity":"customer","external_id":"17"}],
     "order_count":3,"order_totals":{"EUR":"1234.5"}}

Totals are exact decimal text per currency. A source failure before the first row answers 502 (or 504 for
a timeout) with a JSON error; once rows are flowing the status is sent, so a failure ends the stream with
one last line ``{"error": {"code": ..., "source": ..., "message": ...}}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from adapters.sdk import AdapterError, UpstreamTimeoutError

from .context import RequestContext
from .errors import InvalidInputError
from .hub import Hub
from .resilience.errors import DeadlineExceededError
from .services.export import DEFAULT_PAGE_SIZE, EXPORT_FIELDS, ExportOptions, export_customers

NDJSON = "application/x-ndjson"
PARAMETERS = ("since", "fields", "limit")
#: Naive datetimes are the hub database's UTC timestamps (SQLite keeps no zone).
_ENCODE = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NAIVE_UTC


def _since(text: str) -> datetime:
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value)  # a bare date means its midnight
    except ValueError:
        hint = " (write a + in a URL as %2B)" if " " in value else ""
        raise InvalidInputError(
            f"`since` must be an ISO 8601 date or date-time (e.g. 2024-05-01T00:00:00Z), got {text!r}{hint}",
            field="since",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _limit(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or int(value) < 1:
        raise InvalidInputError(f"`limit` must be a positive integer, got {text!r}", field="limit")
    return int(value)


def _fields(text: str) -> frozenset[str]:
    requested = [name.strip() for name in text.split(",") if name.strip()]
    if not requested:
        raise InvalidInputError(
            f"`fields` must list one or more of id, {', '.join(EXPORT_FIELDS)}", field="fields"
        )
    return frozenset(requested) - {"id"}  # the id is always exported


def parse_export_query(
    params: Mapping[str, str], repeated: set[str], *, page_size: int = DEFAULT_PAGE_SIZE
) -> ExportOptions:
    """``ExportOptions`` from query parameters; raises ``InvalidInputError`` naming the bad one."""
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise InvalidInputError(
            f"unknown query parameter {unknown[0]!r}; this endpoint takes {', '.join(PARAMETERS)}",
            field=unknown[0],
        )
    if repeated:
        name = sorted(repeated)[0]
        raise InvalidInputError(f"query parameter {name!r} is given more than once", field=name)
    return ExportOptions(
        since=_since(params["since"]) if "since" in params else None,
        limit=_limit(params["limit"]) if "limit" in params else None,
        fields=_fields(params["fields"]) if "fields" in params else frozenset(EXPORT_FIELDS),
        page_size=page_size,
    )


def _error_body(error: AdapterError | InvalidInputError) -> dict[str, Any]:
    if isinstance(error, InvalidInputError):
        return {"error": {"code": error.code, "message": error.message, "parameter": error.field}}
    return {"error": {"code": error.code, "source": error.source, "message": error.message}}


def _upstream_status(error: AdapterError) -> int:
    return 504 if isinstance(error, UpstreamTimeoutError | DeadlineExceededError) else 502


async def _ndjson(
    first: list[dict[str, Any]], rest: AsyncIterator[list[dict[str, Any]]]
) -> AsyncIterator[bytes]:
    # One chunk per page: bounded memory, and the client gets rows while the next page is read.
    yield b"".join([orjson.dumps(row, option=_ENCODE) for row in first])
    try:
        async for page in rest:
            yield b"".join([orjson.dumps(row, option=_ENCODE) for row in page])
    except AdapterError as exc:
        yield orjson.dumps(_error_body(exc), option=_ENCODE)


def export_endpoint(
    get_hub: Callable[[], Hub | None], *, page_size: int = DEFAULT_PAGE_SIZE
) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint; ``get_hub`` gives the running hub (``None`` while it starts)."""

    async def export(request: Request) -> Response:
        hub = get_hub()
        if hub is None:
            return Response("starting", status_code=503)
        query = request.query_params
        repeated = {name for name in query if len(query.getlist(name)) > 1}
        try:
            options = parse_export_query(dict(query), repeated, page_size=page_size)
        except InvalidInputError as exc:
            return JSONResponse(_error_body(exc), status_code=400)
        ctx = RequestContext.for_hub(hub, request=request)
        pages = export_customers(ctx, options)
        try:
            first: list[dict[str, Any]] = await anext(pages, [])
        except AdapterError as exc:
            return JSONResponse(_error_body(exc), status_code=_upstream_status(exc))
        except InvalidInputError as exc:
            return JSONResponse(_error_body(exc), status_code=400)
        return StreamingResponse(_ndjson(first, pages), media_type=NDJSON)

    return export
