"""The built-in adapter of the support desk: organizations as customers, end users as contacts, tickets.

Batches cost one request per chunk of 100: ``show_many`` for keys, the search export
(``organization_id:1 organization_id:2 ...``) for the contacts and tickets of many organizations.
Scans list each collection with cursor pages; a scan ``since`` a moment reads the incremental exports.
Authentication is the desk's API token (HTTP Basic ``{email}/token``)::

    sources:
      - name: support
        adapter: support
        config:
          base_url: https://acme.zendesk.com
          email: integrations@acme.example
          api_token: ...
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic import Field, SecretStr

from adapters.sdk import CanonicalRecord, Entity, EntityMapping, MalformedResponseError
from adapters.sdk.rest import (
    BasicAuth,
    CursorPaginator,
    Endpoint,
    PageRequest,
    PageResponse,
    Paginator,
    ParamBatch,
    RESTAdapter,
    RESTConfig,
    SinglePage,
    read_json,
)
from adapters.sdk.types import RawRecord

from .mappings import FIRST_NAME, LAST_NAME, ORGANIZATION, REQUESTER_EMAIL, TICKET, USER, split_name
from .requesters import RequesterDirectory

SEARCH_EXPORT = "/api/v2/search/export"
#: ``show_many`` takes at most 100 ids; search queries stay well inside URL limits at that size too.
CHUNK_SIZE = 100
#: The desk's ids are numbers; it refuses a whole batch (400) holding anything else.
DESK_ID = "[0-9]+"
#: Incremental exports refuse a ``start_time`` less than a minute old.
EXPORT_MIN_AGE_SECONDS = 61


def _cursor_pages(size: int) -> CursorPaginator:
    return CursorPaginator(
        "links.next", has_more_path="meta.has_more", page_size=size, page_size_param="page[size]"
    )


_LISTING = _cursor_pages(100)
#: The search export pages up to 1,000 results: a chunk of organizations nearly always fits in one.
_EXPORT = _cursor_pages(1000)


@dataclass(frozen=True)
class StreamPaginator(Paginator):
    """Incremental exports: follow the ``next_path`` URL until ``end_path`` says the stream has ended."""

    next_path: str
    end_path: str = "end_of_stream"

    def next_request(
        self, request: PageRequest, response: PageResponse, record_count: int
    ) -> PageRequest | None:
        ended = read_json(response.body, self.end_path)
        link = read_json(response.body, self.next_path)
        if ended is not False or not isinstance(link, str) or not link:
            return None  # ended, or an answer without the flag: never loop on a stream we cannot read
        return PageRequest(str(response.url.join(link)), {}, request.method, request.json_body)


@dataclass(frozen=True)
class _Collection:
    name: str  # organizations, users, tickets
    result_type: str  # the search's name for one record of it
    incremental_path: str
    incremental_next: str


_COLLECTIONS = {
    Entity.CUSTOMER: _Collection(
        "organizations", "organization", "/api/v2/incremental/organizations", "next_page"
    ),
    Entity.CONTACT: _Collection("users", "user", "/api/v2/incremental/users/cursor", "after_url"),
    Entity.TICKET: _Collection("tickets", "ticket", "/api/v2/incremental/tickets/cursor", "after_url"),
}


def _by_organization(result_type: str) -> ParamBatch:
    return ParamBatch(
        "query",
        chunk_size=CHUNK_SIZE,
        item_template="organization_id:{value}",
        separator=" ",
        path=SEARCH_EXPORT,
        params={"filter[type]": result_type},
        paginator=_EXPORT,
        record_path="results",
        value_pattern=DESK_ID,
    )


def _endpoint(entity: Entity, mapping: EntityMapping, **params: str) -> Endpoint:
    collection = _COLLECTIONS[entity]
    related = {}
    if "customer_external_id" in mapping.relations:
        related["customer_external_id"] = _by_organization(collection.result_type)
    return Endpoint(
        path=f"/api/v2/{collection.name}",
        record_path=collection.name,
        params=params,
        paginator=_LISTING,
        mapping=mapping,
        get_many=ParamBatch(
            "ids",
            chunk_size=CHUNK_SIZE,
            path=f"/api/v2/{collection.name}/show_many",
            paginator=SinglePage(),
            value_pattern=DESK_ID,
        ),
        related=related,
    )


class SupportConfig(RESTConfig):
    """``base_url`` is the desk's root (the paths start with ``/api/v2``)."""

    email: str = Field(pattern=r"^[^@\s/]+@[^@\s/]+$")
    api_token: SecretStr
    #: Fill ``requester_email`` on tickets (one ``users/show_many`` per page of tickets, for requesters
    #: not seen within ``requester_cache_seconds``).
    requester_emails: bool = True
    requester_cache_seconds: float = Field(300.0, ge=0)


class SupportAdapter(RESTAdapter[SupportConfig]):
    name = "support"
    config_model = SupportConfig
    check_path = "/api/v2/organizations?page[size]=1"
    endpoints = {
        Entity.CUSTOMER: _endpoint(Entity.CUSTOMER, ORGANIZATION),
        # Agents are the desk's staff, not the customers' contacts.
        Entity.CONTACT: _endpoint(Entity.CONTACT, USER, role="end-user"),
        Entity.TICKET: _endpoint(Entity.TICKET, TICKET),
    }

    def __init__(
        self, *, source: str, config: SupportConfig, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(source=source, config=config, transport=transport)
        self.requesters = RequesterDirectory(config.requester_cache_seconds)

    def build_auth(self) -> httpx.Auth:
        return BasicAuth(f"{self.config.email}/token", self.config.api_token)

    # -- answers ------------------------------------------------------------------------------------

    def extract_records(self, entity: Entity, response: PageResponse) -> list[RawRecord]:
        return _tidy(entity, super().extract_records(entity, response))

    def extract_lookup_records(
        self, entity: Entity, response: PageResponse, record_path: str
    ) -> list[RawRecord]:
        found = super().extract_lookup_records(entity, response, record_path)
        wanted = _COLLECTIONS[entity].result_type  # search answers may mix result types
        return _tidy(entity, [r for r in found if r.get("result_type", wanted) == wanted])

    async def pages(
        self,
        entity: Entity,
        request: PageRequest,
        *,
        paginator: Paginator | None = None,
        record_path: str | None = None,
    ) -> AsyncIterator[list[RawRecord]]:
        async for page in super().pages(entity, request, paginator=paginator, record_path=record_path):
            if entity is Entity.CONTACT:
                self.requesters.remember(page)
            elif entity is Entity.TICKET and self.config.requester_emails:
                page = await self._with_requester_emails(page)
            yield page

    async def _with_requester_emails(self, tickets: list[RawRecord]) -> list[RawRecord]:
        ids = [str(t["requester_id"]) for t in tickets if t.get("requester_id") is not None]
        missing = self.requesters.missing(ids)
        fetched: dict[str, str | None] = {}
        if missing:
            chunks = [missing[i : i + CHUNK_SIZE] for i in range(0, len(missing), CHUNK_SIZE)]
            for users in await asyncio.gather(*(self._users(chunk) for chunk in chunks)):
                self.requesters.remember(users)
                fetched.update({str(u.get("id")): _email(u) for u in users})
        result: list[RawRecord] = []
        for ticket in tickets:
            requester = ticket.get("requester_id")
            key = str(requester) if requester is not None else None
            email = None if key is None else fetched[key] if key in fetched else self.requesters.email(key)
            result.append({**ticket, REQUESTER_EMAIL: email})
        return result

    async def _users(self, ids: Sequence[str]) -> list[RawRecord]:
        request = PageRequest("/api/v2/users/show_many", {"ids": ",".join(ids)})
        response = await self.http.send(request, entity=Entity.TICKET.value)
        users = read_json(response.body, "users")
        if not isinstance(users, list) or not all(isinstance(u, dict) for u in users):
            raise MalformedResponseError(
                "users/show_many answered without a list of users", source=self.source, entity="ticket"
            )
        return users

    # -- incremental scans --------------------------------------------------------------------------

    def build_scan_request(self, entity: Entity, since: datetime | None = None) -> PageRequest:
        if since is None:
            return super().build_scan_request(entity)
        collection = _COLLECTIONS[self.mapping_for(entity).entity]
        # A later start would be refused; an earlier one only re-reads what the scan then filters out.
        start = max(0, min(int(since.timestamp()), int(time.time()) - EXPORT_MIN_AGE_SECONDS))
        return PageRequest(collection.incremental_path, {"start_time": str(start), "per_page": "1000"})

    async def scan(self, entity: Entity, since: datetime | None = None) -> AsyncIterator[CanonicalRecord]:
        if since is None:
            async for record in super().scan(entity):
                yield record
            return
        mapping = self.endpoint(entity).mapping
        collection = _COLLECTIONS[entity]
        stream = StreamPaginator(collection.incremental_next)
        seen: set[str] = set()  # time-based export pages overlap at their boundary second
        async for page in self.pages(entity, self.build_scan_request(entity, since), paginator=stream):
            for raw in page:
                record = mapping.build(self.source, raw)
                if record.external_id in seen:
                    continue
                seen.add(record.external_id)
                if record.updated_at is not None and record.updated_at <= since:
                    continue
                yield record


def _tidy(entity: Entity, records: list[RawRecord]) -> list[RawRecord]:
    if entity is not Entity.CONTACT:
        return records
    # Agents are the desk's staff, not the customers' contacts.
    return [_with_names(r) for r in records if r.get("role", "end-user") == "end-user"]


def _with_names(user: RawRecord) -> RawRecord:
    first, last = split_name(user.get("name"))
    return {**user, FIRST_NAME: first, LAST_NAME: last}


def _email(user: RawRecord) -> str | None:
    email: Any = user.get("email")
    return email if isinstance(email, str) and email else None
