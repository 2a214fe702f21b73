"""One upstream exchange: an ``httpx.Request`` through its auth flow and redirects to a read response.

``httpx.AsyncClient`` does this as well, along with much that an API client does not need: a cookie jar
fed from every response, proxy mounts, event hooks, requests built from loose arguments. That costs about a
fifth of a call's CPU (bench/RESULTS.md). In a customer 360 that CPU is latency, because the requests
go out one after another and the answers are decoded one after another. So ``UpstreamClient`` builds the
request itself and sends it from here. Authenticators are still ``httpx.Auth`` flows and transports are
still ``httpx.AsyncBaseTransport``s. Redirects are followed by httpx's rules: a 303 (or a 301/302 after a
POST) becomes a GET without a body, and credentials are dropped when the redirect leaves the origin.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping

import httpx

#: httpx's default limit.
MAX_REDIRECTS = 20

_DEFAULT_PORTS = {"http": 80, "https": 443}


class FixedHeadersAuth(httpx.Auth):
    """An authenticator that sets the same headers on every request (Basic, a bearer token, an API key).

    ``UpstreamClient`` sends ``fixed_headers()`` with its default headers instead of running the flow for
    every request: driving a flow costs more CPU than the header itself. Elsewhere it is an ordinary flow.
    """

    def fixed_headers(self) -> Mapping[str, str] | None:
        """The headers, or ``None`` when this instance needs its flow after all (a key in the query)."""
        raise NotImplementedError

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self.fixed_headers() or {})
        yield request


async def exchange(
    transport: httpx.AsyncBaseTransport, request: httpx.Request, auth: httpx.Auth | None
) -> httpx.Response:
    """The final response to ``request``, with its body read; ``auth``'s flow sees every response it asks
    for (an OAuth flow's token request included) and may answer with a retried request."""
    if auth is None:
        return await _follow_redirects(transport, request)
    flow = auth.async_auth_flow(request)
    try:
        current = await flow.__anext__()
        while True:
            response = await _follow_redirects(transport, current)
            try:
                current = await flow.asend(response)
            except StopAsyncIteration:
                return response
    finally:
        await flow.aclose()


async def _follow_redirects(transport: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
    for _ in range(MAX_REDIRECTS + 1):
        response = await _send(transport, request)
        if not response.has_redirect_location:
            return response
        request = redirect_request(request, response)
    raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects", request=request)


async def _send(transport: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
    response = await transport.handle_async_request(request)
    response.request = request
    try:
        await response.aread()
    except BaseException:
        await response.aclose()
        raise
    return response


def redirect_request(request: httpx.Request, response: httpx.Response) -> httpx.Request:
    """The request that follows ``response``'s ``Location``, as httpx's client builds it."""
    method = request.method
    status = response.status_code
    if (status == httpx.codes.SEE_OTHER and method != "HEAD") or (
        status in (httpx.codes.MOVED_PERMANENTLY, httpx.codes.FOUND) and method == "POST"
    ):
        method = "GET"
    url = _location(request, response)
    headers = httpx.Headers(request.headers)
    if not _same_origin(url, request.url):
        if not _is_https_upgrade(request.url, url):
            # The credentials were meant for the upstream that was configured, not for wherever it points;
            # so was a session cookie (``SessionLoginAuth``), which the same origin keeps.
            headers.pop("Authorization", None)
            headers.pop("Cookie", None)
        headers["Host"] = url.netloc.decode("ascii")
    drops_body = method != request.method and method == "GET"
    if drops_body:
        headers.pop("Content-Length", None)
        headers.pop("Transfer-Encoding", None)
    return httpx.Request(
        method,
        url,
        headers=headers,
        stream=None if drops_body else request.stream,
        extensions=request.extensions,
    )


def _location(request: httpx.Request, response: httpx.Response) -> httpx.URL:
    try:
        url = httpx.URL(response.headers["Location"])
    except httpx.InvalidURL as exc:
        raise httpx.RemoteProtocolError(
            f"invalid URL in the Location header: {exc}", request=request
        ) from None
    if url.scheme and not url.host:
        url = url.copy_with(host=request.url.host)
    if url.is_relative_url:
        url = request.url.join(url)
    if request.url.fragment and not url.fragment:
        url = url.copy_with(fragment=request.url.fragment)
    return url


def _port(url: httpx.URL) -> int | None:
    return url.port if url.port is not None else _DEFAULT_PORTS.get(url.scheme)


def _same_origin(url: httpx.URL, other: httpx.URL) -> bool:
    return url.scheme == other.scheme and url.host == other.host and _port(url) == _port(other)


def _is_https_upgrade(url: httpx.URL, location: httpx.URL) -> bool:
    """``http://host`` to ``https://host`` on the default ports: the same server, now encrypted."""
    return (
        url.host == location.host
        and url.scheme == "http"
        and _port(url) == 80
        and location.scheme == "https"
        and _port(location) == 443
    )
