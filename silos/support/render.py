"""The support desk's JSON shapes and its two pagination styles (cursor and offset)."""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request

from ..http import ParamError, int_param, utc_z
from .data import Organization, Ticket, User

MAX_PAGE_SIZE = 100
#: Offset pagination stops after this many records; beyond it clients must use cursors.
OFFSET_LIMIT = 10_000


def organization_json(base: str, org: Organization) -> dict[str, Any]:
    return {
        "url": f"{base}/api/v2/organizations/{org.id}.json",
        "id": org.id,
        "name": org.name,
        "shared_tickets": False,
        "shared_comments": False,
        "external_id": org.external_id,
        "created_at": utc_z(org.created),
        "updated_at": utc_z(org.updated),
        "domain_names": org.domain_names,
        "details": org.details,
        "notes": "",
        "group_id": None,
        "tags": org.tags,
        "organization_fields": {},
    }


def user_json(base: str, user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "url": f"{base}/api/v2/users/{user.id}.json",
        "name": user.name,
        "email": user.email,
        "created_at": utc_z(user.created),
        "updated_at": utc_z(user.updated),
        "time_zone": user.time_zone,
        "iana_time_zone": "Etc/UTC",
        "phone": user.phone,
        "shared_phone_number": None,
        "photo": None,
        "locale": user.locale,
        "organization_id": user.organization_id,
        "role": user.role,
        "verified": user.email is not None,
        "external_id": None,
        "tags": [],
        "alias": None,
        "active": True,
        "shared": False,
        "last_login_at": None,
        "details": "",
        "notes": "",
        "role_type": None,
        "suspended": False,
        "user_fields": {},
    }


def ticket_json(base: str, ticket: Ticket) -> dict[str, Any]:
    return {
        "url": f"{base}/api/v2/tickets/{ticket.id}.json",
        "id": ticket.id,
        "external_id": None,
        "via": {"channel": ticket.channel, "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": utc_z(ticket.created),
        "updated_at": utc_z(ticket.updated),
        "generated_timestamp": int(ticket.updated.timestamp()),
        "type": ticket.type,
        "subject": ticket.subject,
        "raw_subject": ticket.subject,
        "description": ticket.description,
        "priority": ticket.priority,
        "status": ticket.status,
        "recipient": None,
        "requester_id": ticket.requester_id,
        "submitter_id": ticket.requester_id,
        "assignee_id": ticket.assignee_id,
        "organization_id": ticket.organization_id,
        "group_id": None,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "problem_id": None,
        "has_incidents": False,
        "is_public": True,
        "due_at": None,
        "tags": ticket.tags,
        "custom_fields": [],
        "satisfaction_rating": None,
        "allow_attachments": True,
    }


def render(base: str, record: Organization | User | Ticket) -> dict[str, Any]:
    if isinstance(record, Ticket):
        return ticket_json(base, record)
    if isinstance(record, User):
        return user_json(base, record)
    return organization_json(base, record)


def encode_cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_cursor(cursor: str, name: str) -> Any:
    try:
        return orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise ParamError(f"{name} is not a cursor this endpoint issued") from None


def url_with(request: Request, **params: str | int) -> str:
    """The request's URL with some query parameters replaced (``page_after`` stands for ``page[after]``)."""
    query = {
        k: v for k, v in request.query_params.items() if k not in ("page[after]", "page[before]", "page")
    }
    for key, value in params.items():
        query[key.replace("page_", "page[", 1) + "]" if key.startswith("page_") else key] = str(value)
    return f"{request.base_url}{request.url.path.lstrip('/')}?{urlencode(query)}"


def uses_cursor(request: Request) -> bool:
    return any(key.startswith("page[") for key in request.query_params)


def paginate(
    request: Request, key: str, ids: Sequence[int], records: Sequence[Any], base: str
) -> dict[str, Any]:
    """One page of ``records`` (ordered by id, ``ids`` their ids) in the style the request asked for:
    cursor (``page[size]``, ``page[after]``, ``page[before]``) or offset (``page``, ``per_page``)."""
    if uses_cursor(request):
        size = int_param(request, "page[size]", MAX_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
        after, before = request.query_params.get("page[after]"), request.query_params.get("page[before]")
        if after:
            start = bisect.bisect_right(ids, _cursor_id(after, "page[after]"))
            end = min(start + size, len(ids))
        elif before:
            end = bisect.bisect_left(ids, _cursor_id(before, "page[before]"))
            start = max(end - size, 0)
        else:
            start, end = 0, min(size, len(ids))
        page = records[start:end]
        has_more = end < len(ids) if not before else start > 0
        after_cursor = encode_cursor({"o": "id", "v": page[-1].id}) if page else None
        before_cursor = encode_cursor({"o": "id", "v": page[0].id}) if page else None
        return {
            key: [render(base, r) for r in page],
            "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor},
            "links": {
                "next": url_with(request, page_after=after_cursor)
                if after_cursor and end < len(ids)
                else None,
                "prev": url_with(request, page_before=before_cursor) if before_cursor and start > 0 else None,
            },
        }
    per_page = int_param(request, "per_page", MAX_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    number = int_param(request, "page", 1, minimum=1)
    if number * per_page > OFFSET_LIMIT:
        raise ParamError(
            f"offset pagination is limited to the first {OFFSET_LIMIT} records; use cursor pagination "
            "(page[size] and page[after]) instead"
        )
    start = (number - 1) * per_page
    page = records[start : start + per_page]
    return {
        key: [render(base, r) for r in page],
        "next_page": url_with(request, page=number + 1) if start + per_page < len(records) else None,
        "previous_page": url_with(request, page=number - 1) if number > 1 else None,
        "count": len(records),
    }


def _cursor_id(cursor: str, name: str) -> int:
    payload = decode_cursor(cursor, name)
    if not isinstance(payload, dict) or not isinstance(payload.get("v"), int):
        raise ParamError(f"{name} is not a cursor this endpoint issued")
    return int(payload["v"])
