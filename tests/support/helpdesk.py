"""A small help-desk + billing REST API (starlette) and a toolkit adapter for it.

The API paginates each collection differently (cursor with next URL, offset with total, page number,
Link header, and a query language with STARTPOSITION/MAXRESULTS), so one adapter exercises every part
of the REST toolkit. Every request is logged in ``app.state.log`` so tests can count upstream calls.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.sdk import Entity, EntityMapping
from adapters.sdk.rest import (
    BearerTokenAuth,
    CursorPaginator,
    Endpoint,
    LinkHeaderPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    ParamBatch,
    RESTAdapter,
    RESTConfig,
    SinglePage,
)

TOKEN = "desk-token-s3cret"
REALM = "9130"

ORGS = [
    {
        "id": n,
        "name": f"Org {n:02d}",
        "domain": f"org{n}.example",
        "details": {"city": ["Lyon", "Oslo", "Porto"][n % 3], "country": ["FR", "NO", "PT"][n % 3]},
        "updated_at": f"2024-01-{n:02d}T08:00:00Z",
    }
    for n in range(1, 24)
]
USERS = [
    {
        "id": 100 + n,
        "organization_id": n % 23 + 1,
        "email": f"user{n}@org{n % 23 + 1}.example",
        "name": {"first": f"First{n}", "last": f"Last{n}"},
        "title": "Buyer" if n % 2 else None,
    }
    for n in range(57)
]
TICKETS = [
    {
        "id": 1000 + n,
        "organization_id": n % 23 + 1,
        "subject": f"Issue {n}",
        "status": ["open", "pending", "solved"][n % 3],
        "priority": "high" if n % 5 == 0 else "normal",
        "created_at": f"2024-02-{n % 28 + 1:02d}T10:00:00Z",
    }
    for n in range(40)
]
PRODUCTS = [{"id": f"P{n}", "title": f"Widget {n}", "price": f"{n}.50", "sku": f"W-{n}"} for n in range(12)]
INVOICES = [
    {
        "Id": str(5000 + n),
        "CustomerRef": {"value": str(n % 23 + 1)},
        "DocNumber": f"INV-{5000 + n}",
        "TotalAmt": 100 + n,
        "Balance": n % 4 * 10,
        "TxnDate": f"2024-03-{n % 28 + 1:02d}",
    }
    for n in range(30)
]


def _ids(request: Request, name: str = "ids") -> list[str] | None:
    raw = request.query_params.get(name)
    return None if raw is None else [part for part in raw.split(",") if part]


def _authorized(request: Request) -> bool:
    return request.headers.get("authorization") == f"Bearer {TOKEN}"


def _protected(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    async def guarded(request: Request) -> Response:
        request.app.state.log.append((request.url.path, str(request.query_params)))
        if not _authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if request.app.state.delay:
            await asyncio.sleep(request.app.state.delay)
        response: Response = await handler(request)
        return response

    return guarded


async def organizations(request: Request) -> Response:
    size = int(request.query_params.get("page[size]", "100"))
    after = request.query_params.get("page[after]")
    start = int(base64.urlsafe_b64decode(after).decode()) if after else 0
    rows = [org for org in ORGS if org["id"] > start]
    if since := request.query_params.get("updated_since"):
        rows = [org for org in rows if str(org["updated_at"]) > since.replace("+00:00", "Z")]
    page, more = rows[:size], len(rows) > size
    cursor = base64.urlsafe_b64encode(str(page[-1]["id"]).encode()).decode() if page else None
    following = str(request.url.include_query_params(**{"page[after]": cursor})) if more else None
    body = {
        "organizations": page,
        "meta": {"has_more": more, "after_cursor": cursor},
        "links": {"next": following},
    }
    return JSONResponse(body)


async def organizations_show_many(request: Request) -> Response:
    wanted = _ids(request) or []
    if len(wanted) > 10:
        return JSONResponse({"error": "at most 10 ids"}, status_code=400)
    return JSONResponse({"organizations": [org for org in ORGS if str(org["id"]) in wanted]})


async def users(request: Request) -> Response:
    rows = USERS
    if (orgs := _ids(request, "organization_id")) is not None:
        rows = [user for user in rows if str(user["organization_id"]) in orgs]
    offset, count = int(request.query_params.get("offset", "0")), int(request.query_params.get("count", "10"))
    return JSONResponse({"members": rows[offset : offset + count], "total_items": len(rows)})


async def users_show_many(request: Request) -> Response:
    wanted = _ids(request) or []
    return JSONResponse({"members": [user for user in USERS if str(user["id"]) in wanted]})


async def tickets(request: Request) -> Response:
    rows = TICKETS
    if (wanted := _ids(request)) is not None:
        rows = [ticket for ticket in rows if str(ticket["id"]) in wanted]
    if orgs := request.query_params.getlist("organization_id"):
        rows = [ticket for ticket in rows if str(ticket["organization_id"]) in orgs]
    page, per_page = (
        int(request.query_params.get("page", "1")),
        int(request.query_params.get("per_page", "10")),
    )
    total_pages = max(1, -(-len(rows) // per_page))
    return JSONResponse(
        {"tickets": rows[(page - 1) * per_page : page * per_page], "total_pages": total_pages}
    )


async def products(request: Request) -> Response:
    rows = PRODUCTS
    if (wanted := _ids(request)) is not None:
        rows = [product for product in rows if product["id"] in wanted]
    page, per_page = (
        int(request.query_params.get("page", "1")),
        int(request.query_params.get("per_page", "5")),
    )
    headers = {}
    if page * per_page < len(rows):
        following = request.url.include_query_params(page=page + 1, per_page=per_page)
        last = request.url.include_query_params(page=-(-len(rows) // per_page), per_page=per_page)
        # Relative next link and a multi-valued rel, both allowed by RFC 8288.
        headers["Link"] = f'<{following.path}?{following.query}>; rel="next", <{last}>; rel="last"'
    return JSONResponse({"products": rows[(page - 1) * per_page : page * per_page]}, headers=headers)


_QUERY = re.compile(
    r"^select \* from (?P<table>\w+)"
    r"(?: where (?P<field>\w+) in \((?P<values>.*)\))?"
    r"(?: startposition (?P<start>\d+) maxresults (?P<max>\d+))?$",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


async def query(request: Request) -> Response:
    if request.path_params["realm"] != REALM:
        return JSONResponse({"Fault": "unknown realm"}, status_code=404)
    match = _QUERY.match(request.query_params.get("query", "").strip())
    if not match or match["table"] != "Invoice":
        return JSONResponse({"Fault": "bad query"}, status_code=400)
    rows = INVOICES
    if match["field"]:
        wanted = [value.replace("\\'", "'") for value in _QUOTED.findall(match["values"])]
        if match["field"] == "Id":
            rows = [row for row in rows if row["Id"] in wanted]
        else:
            rows = [row for row in rows if row["CustomerRef"]["value"] in wanted]  # type: ignore[index]
    start, size = int(match["start"] or 1), int(match["max"] or 1000)
    page = rows[start - 1 : start - 1 + size]
    body: dict[str, Any] = {"startPosition": start, "maxResults": len(page)}
    if page:  # like QuickBooks, an empty answer has no entity key at all
        body["Invoice"] = page
    return JSONResponse({"QueryResponse": body})


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


def build_app() -> Starlette:
    routes = [
        Route("/api/v2/organizations", _protected(organizations)),
        Route("/api/v2/organizations/show_many", _protected(organizations_show_many)),
        Route("/api/v2/users", _protected(users)),
        Route("/api/v2/users/show_many", _protected(users_show_many)),
        Route("/api/v2/tickets", _protected(tickets)),
        Route("/api/v2/products", _protected(products)),
        Route("/v3/company/{realm}/query", _protected(query)),
        Route("/health", _protected(health)),
    ]
    app = Starlette(routes=routes)
    app.state.log = []
    app.state.delay = 0.0
    return app


# -- the adapter, written with the toolkit ------------------------------------------------------------

CUSTOMER = EntityMapping(
    Entity.CUSTOMER,
    {
        "external_id": "id",
        "name": "name",
        "website": "domain",
        "address.city": "details.city",
        "address.country": "details.country",
        "updated_at": "updated_at",
    },
)
CONTACT = EntityMapping(
    Entity.CONTACT,
    {
        "external_id": "id",
        "customer_external_id": "organization_id",
        "email": "email",
        "first_name": "name.first",
        "last_name": "name.last",
        "title": "title",
    },
    relations=frozenset({"customer_external_id"}),
)
TICKET = EntityMapping(
    Entity.TICKET,
    {
        "external_id": "id",
        "customer_external_id": "organization_id",
        "subject": "subject",
        "status": "status",
        "priority": "priority",
        "created_at": "created_at",
    },
    relations=frozenset({"customer_external_id"}),
)
PRODUCT = EntityMapping(
    Entity.PRODUCT,
    {"external_id": "id", "name": "title", "unit_price": "price", "sku": "sku"},
    constants={"currency": "EUR"},
)
INVOICE = EntityMapping(
    Entity.INVOICE,
    {
        "external_id": "Id",
        "customer_external_id": "CustomerRef.value",
        "number": "DocNumber",
        "total": "TotalAmt",
        "balance": "Balance",
        "issued_at": "TxnDate",
    },
    relations=frozenset({"customer_external_id"}),
    constants={"currency": "USD"},
)
_QUOTE_ESCAPE = {"\\": "\\\\", "'": "\\'"}


class DeskConfig(RESTConfig):
    token: SecretStr
    realm_id: str = REALM


class DeskAdapter(RESTAdapter[DeskConfig]):
    name = "desk"
    config_model = DeskConfig
    check_path = "/health"
    endpoints = {
        Entity.CUSTOMER: Endpoint(
            path="/api/v2/organizations",
            record_path="organizations",
            mapping=CUSTOMER,
            paginator=CursorPaginator(
                "links.next", has_more_path="meta.has_more", page_size=10, page_size_param="page[size]"
            ),
            get_many=ParamBatch("ids", chunk_size=10, path="/api/v2/organizations/show_many"),
            since_param="updated_since",
        ),
        Entity.CONTACT: Endpoint(
            path="/api/v2/users",
            record_path="members",
            mapping=CONTACT,
            paginator=OffsetPaginator(limit=10, limit_param="count", total_path="total_items"),
            get_many=ParamBatch("ids", chunk_size=25, path="/api/v2/users/show_many", paginator=SinglePage()),
            related={
                "customer_external_id": ParamBatch(
                    "organization_id",
                    chunk_size=5,
                    paginator=OffsetPaginator(limit=100, limit_param="count", total_path="total_items"),
                )
            },
        ),
        Entity.TICKET: Endpoint(
            path="/api/v2/tickets",
            record_path="tickets",
            mapping=TICKET,
            paginator=PageNumberPaginator(page_size=10, total_pages_path="total_pages"),
            get_many=ParamBatch("ids", chunk_size=10),
            related={
                "customer_external_id": ParamBatch(
                    "organization_id",
                    repeat=True,
                    chunk_size=4,
                    paginator=PageNumberPaginator(page_size=100, total_pages_path="total_pages"),
                )
            },
        ),
        Entity.PRODUCT: Endpoint(
            path="/api/v2/products",
            record_path="products",
            mapping=PRODUCT,
            paginator=LinkHeaderPaginator(page_size=5, page_size_param="per_page"),
            get_many=ParamBatch("ids", chunk_size=5),
        ),
        Entity.INVOICE: Endpoint(
            path="/v3/company/{realm_id}/query",
            record_path="QueryResponse.Invoice",
            empty_when_missing=True,
            mapping=INVOICE,
            params={"query": "select * from Invoice"},
            paginator=OffsetPaginator(
                limit=10,
                start=1,
                query_param="query",
                query_suffix=" STARTPOSITION {offset} MAXRESULTS {limit}",
            ),
            get_many=ParamBatch(
                "query",
                chunk_size=10,
                template="select * from Invoice where Id in ({items})",
                item_template="'{value}'",
                escape=_QUOTE_ESCAPE,
                paginator=SinglePage(),
            ),
            related={
                "customer_external_id": ParamBatch(
                    "query",
                    chunk_size=6,
                    template="select * from Invoice where CustomerRef in ({items})",
                    item_template="'{value}'",
                    escape=_QUOTE_ESCAPE,
                    paginator=SinglePage(),
                )
            },
        ),
    }

    def build_auth(self) -> httpx.Auth:
        return BearerTokenAuth(self.config.token)


def desk_adapter(base_url: str, *, source: str = "desk", **overrides: Any) -> DeskAdapter:
    config = {"base_url": base_url, "token": TOKEN, "timeout_seconds": 2.0, **overrides}
    adapter = DeskAdapter.from_config(source=source, config=config)
    assert isinstance(adapter, DeskAdapter)
    return adapter


class DeskHeaderAuth(httpx.Auth):
    """A hand-written authenticator, for the declarative ``type: custom`` escape hatch."""

    def __init__(self, token: str, header: str = "Authorization") -> None:
        self._token = token
        self._header = header

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers[self._header] = f"Bearer {self._token}"
        yield request
