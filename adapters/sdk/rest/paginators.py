"""Paginators: how to ask for the first page of a collection and how to find the next one.

A paginator is stateless: whatever it needs to compute the next page (an offset, a page number) travels
in ``PageRequest.state``, so one paginator serves any number of concurrent scans. The adapter drives the
loop and guards it (a page asked for twice, or more pages than the cap, raise ``MalformedResponseError``).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..mapping import read_path
from .http import PageRequest, PageResponse


def read_json(body: Any, path: str | None) -> Any:
    """``a.b.c`` inside a decoded JSON body (``None`` when a step is missing); an empty path is the body."""
    if not path:
        return body
    if not isinstance(body, Mapping):
        return None
    return read_path(body, path)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no")
    return bool(value)


class Paginator(ABC):
    """Turns the scan's base request into the first page request, and each answered page into the next."""

    def first_request(self, request: PageRequest) -> PageRequest:
        """The request for the first page (adds page size parameters and the like)."""
        return request

    @abstractmethod
    def next_request(
        self, request: PageRequest, response: PageResponse, record_count: int
    ) -> PageRequest | None:
        """The request for the page after ``response`` (which held ``record_count`` records), or ``None``."""


class SinglePage(Paginator):
    """The collection comes in one answer."""

    def next_request(
        self, request: PageRequest, response: PageResponse, record_count: int
    ) -> PageRequest | None:
        return None


def _page_size_params(name: str | None, size: int | None) -> dict[str, str]:
    return {name: str(size)} if name and size else {}


def _follow(request: PageRequest, response: PageResponse, link: str) -> PageRequest:
    """A request for a ``next`` URL; relative links resolve against the page that named them."""
    return PageRequest(str(response.url.join(link)), {}, request.method, request.json_body)


@dataclass(frozen=True)
class CursorPaginator(Paginator):
    """Next page named by the previous one: a cursor token sent back as ``cursor_param``, or, when
    ``cursor_param`` is ``None``, a full next-page URL (Zendesk ``links.next`` with ``meta.has_more``)."""

    cursor_path: str
    cursor_param: str | None = None
    has_more_path: str | None = None
    page_size: int | None = None
    page_size_param: str | None = None

    def first_request(self, request: PageRequest) -> PageRequest:
        return request.with_params(**_page_size_params(self.page_size_param, self.page_size))

    def next_request(
        self, request: PageRequest, response: PageResponse, record_count: int
    ) -> PageRequest | None:
        if self.has_more_path is not None and not _truthy(read_json(response.body, self.has_more_path)):
            return None
        cursor = read_json(response.body, self.cursor_path)
        if cursor is None or cursor == "":
            return None
        if self.cursor_param is None:
            return _follow(request, response, str(cursor))
        return request.with_params(**{self.cursor_param: str(cursor)})


@dataclass(frozen=True)
class OffsetPaginator(Paginator):
    """``offset``/``limit`` windows (Mailchimp ``offset``/``count`` with ``total_items``).

    ``start`` is the first position (1 for 1-based APIs). For query-language APIs that put the window in
    the query text (QuickBooks ``... STARTPOSITION 1 MAXRESULTS 100``), set ``query_param`` to the
    parameter holding the query and ``query_suffix`` to a template using ``{offset}`` and ``{limit}``; or
    override ``window``.
    Without ``total_path`` a short page ends the scan; with it, the total does.
    """

    limit: int = 100
    offset_param: str = "offset"
    limit_param: str = "limit"
    start: int = 0
    total_path: str | None = None
    query_param: str | None = None
    query_suffix: str | None = None

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("limit must be at least 1")
        if (self.query_param is None) != (self.query_suffix is None):
            raise ValueError("query_param and query_suffix go together")

    def window(self, base: PageRequest, offset: int) -> PageRequest:
        """``base`` restricted to the window starting at ``offset``."""
        if self.query_param is not None and self.query_suffix is not None:
            query = base.params.get(self.query_param)
            if not isinstance(query, str):
                raise ValueError(f"the request has no {self.query_param!r} query to add the window to")
            text = query + self.query_suffix.format(offset=offset, limit=self.limit)
            windowed = base.with_params(**{self.query_param: text})
        else:
            windowed = base.with_params(**{self.offset_param: str(offset), self.limit_param: str(self.limit)})
        state = {"offset": offset, "base": base}
        return PageRequest(windowed.url, windowed.params, windowed.method, windowed.json_body, state)

    def first_request(self, request: PageRequest) -> PageRequest:
        return self.window(request, self.start)

    def next_request(
        self, request: PageRequest, response: PageResponse, record_count: int
    ) -> PageRequest | None:
        offset = int(request.state.get("offset", self.start))
        base = request.state.get("base", request)
        if record_count == 0:
            return None
        seen = offset - self.start + record_count
        total = read_json(response.body, self.total_path) if self.total_path else None
        if total is not None:
            if seen >= int(total):
                return None
        elif record_count < self.limit:
            return None
        return self.window(base, offset + record_count)


@dataclass(frozen=True)
class PageNumberPaginator(Paginator):
    """``?page=N&per_page=M``; stops on a short or empty page, or at ``total_pages_path`` when given."""

    page_param: str = "page"
    page_size_param: str | None = "per_page"
    page_size: int = 100
    start_page: int = 1
    total_pages_path: str | None = None

    def _page(self, base: PageRequest, page: int) -> PageRequest:
        paged = base.with_params(
            **{self.page_param: str(page)}, **_page_size_params(self.page_size_param, self.page_size)
        )
        state = {"page": page, "base": base}
        return PageRequest(paged.url, paged.params, paged.method, paged.json_body, state)

    def first_request(self, request: PageRequest) -> PageRequest:
        return self._page(request, self.start_page)

    def next_request(
        self, request: PageRequest, response: PageResponse, record_count: int
    ) -> PageRequest | None:
        page = int(request.state.get("page", self.start_page))
        base = request.state.get("base", request)
        if record_count == 0:
            return None
        total_pages = read_json(response.body, self.total_pages_path) if self.total_pages_path else None
        if total_pages is not None:
            if page - self.start_page + 1 >= int(total_pages):
                return None
        elif record_count < self.page_size:
            return None
        return self._page(base, page + 1)


_LINK = re.compile(r'<([^>]*)>((?:\s*;\s*[^;,=\s]+\s*(?:=\s*(?:"[^"]*"|[^;,]*))?)*)')
_LINK_PARAM = re.compile(r';\s*([^;,=\s]+)\s*(?:=\s*(?:"([^"]*)"|([^;,]*)))?')


def parse_link_header(value: str) -> list[tuple[str, dict[str, str]]]:
    """RFC 8288 (ex 5988) ``Link`` header: ``[(url, {param: value})]``, parameter names lower-cased."""
    links: list[tuple[str, dict[str, str]]] = []
    for match in _LINK.finditer(value):
        params = {
            name.lower(): (quoted if quoted is not None else (bare or "")).strip()
            for name, quoted, bare in _LINK_PARAM.findall(match.group(2))
        }
        links.append((match.group(1).strip(), params))
    return links


def next_link(value: str | None) -> str | None:
    """The target of the ``rel="next"`` link (``rel`` may list several relation types)."""
    for url, params in parse_link_header(value or ""):
        if "next" in params.get("rel", "").lower().split():
            return url
    return None


@dataclass(frozen=True)
class LinkHeaderPaginator(Paginator):
    """Follows ``Link: <...>; rel="next"`` response headers (GitHub style)."""

    page_size: int | None = None
    page_size_param: str | None = None

    def first_request(self, request: PageRequest) -> PageRequest:
        return request.with_params(**_page_size_params(self.page_size_param, self.page_size))

    def next_request(
        self, request: PageRequest, response: PageResponse, record_count: int
    ) -> PageRequest | None:
        link = next_link(response.headers.get("Link"))
        return _follow(request, response, link) if link else None
