"""Request URLs without parsing the same base again on every call.

``httpx.URL(text)`` validates and normalizes every character of the text: about 20 µs for a 200-character
URL, paid once per upstream request, while the answers of a customer 360's other requests wait on the same
event loop. A source's requests go to a handful of paths and differ only in their query string, so each path
is parsed once and the query, already encoded by ``urlencode``, is attached to the parsed URL.

That attachment uses httpx's parsed form (``URL._uri_reference``, a named tuple). It is taken only for a
query made of the characters ``urlencode`` writes, which httpx's own parsing keeps unchanged, so the URL is
the one ``httpx.URL`` would build from the whole text; tests compare the two. Should a later httpx store its
URLs differently, every URL is parsed whole again, as before.
"""

from __future__ import annotations

import re

import httpx

#: What ``urlencode`` writes: unreserved characters, ``+`` for spaces, percent escapes, ``=`` and ``&``.
_ENCODED_QUERY = re.compile(r"[A-Za-z0-9_.~+%=&-]*")
#: Parsed paths kept per client; a source whose paths carry ids (``/members/{id}``) starts over when full.
_PATHS_KEPT = 256


def _can_attach_queries() -> bool:
    reference = getattr(httpx.URL("http://example.test/path"), "_uri_reference", None)
    replace = getattr(reference, "_replace", None)
    if replace is None:
        return False
    attached = httpx.URL.__new__(httpx.URL)
    attached._uri_reference = replace(query="a=1")
    return str(attached) == "http://example.test/path?a=1"


_ATTACH_QUERIES = _can_attach_queries()


class RequestUrls:
    """The ``httpx.URL`` of ``path_url?query``, with each path parsed once."""

    def __init__(self) -> None:
        self._parsed: dict[str, httpx.URL] = {}

    def url(self, path_url: str, query: str = "") -> httpx.URL:
        """``httpx.URL(f"{path_url}?{query}")`` (no ``?`` when the query is empty); ``path_url`` must not
        carry a query of its own."""
        parsed = self._parsed.get(path_url)
        if parsed is None:
            parsed = httpx.URL(path_url)
            if len(self._parsed) >= _PATHS_KEPT:
                self._parsed.clear()
            self._parsed[path_url] = parsed
        if not query:
            return parsed
        if not _ATTACH_QUERIES or parsed.fragment or not _ENCODED_QUERY.fullmatch(query):
            return httpx.URL(f"{path_url}?{query}")
        attached = httpx.URL.__new__(httpx.URL)
        attached._uri_reference = parsed._uri_reference._replace(query=query)
        return attached
