"""The default transport of REST adapters: httpx's API over aiohttp's connection pool and C HTTP parser.

Adapters, authenticators and tests keep speaking httpx (requests, ``httpx.Auth`` flows, mock transports);
only the bytes on the wire go through aiohttp, whose compiled parser costs a fraction of httpcore's
pure-Python one. With a customer 360 making a dozen upstream calls, that CPU is latency: the answers all
arrive at about the same moment and are decoded one after another on the event loop.

``httpx-aiohttp`` provides the session and the mapping of aiohttp's errors; the exchange itself is done
here, more cheaply than that package's generic one: the URL, already normalized by httpx, is not parsed
again, timeouts are built once, and the body is read at once (``exchange`` reads every body anyway) instead
of being streamed chunk by chunk through httpx. httpx still decodes a compressed body. Three more things
differ from that package: credentials in a base URL are sent only as the Authorization header httpx derived
from them, cookies are left to httpx (aiohttp would keep a second jar), and a refused or dropped connection
is reported as httpx's ``ConnectError`` or ``ReadError``, not as the ``ConnectTimeout`` that package maps
every ``aiohttp.ClientConnectionError`` to, so a silo that is down or hangs up is "unavailable", never
"timed out".
"""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import map_aiohttp_exceptions
from multidict import CIMultiDict
from yarl import URL

#: Connections kept per source; the client's own gate (``max_concurrency``) bounds what is used at once.
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
_HTTP_11 = b"HTTP/1.1"


class UpstreamTransport(AiohttpTransport):
    """``AiohttpTransport`` with a leaner exchange, httpx's cookie handling and an honest type for dropped
    connections."""

    def __init__(self) -> None:
        super().__init__(limits=_LIMITS, trust_env=False)
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}

    def get_client(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=_LIMITS.max_connections or 0,
            keepalive_timeout=_LIMITS.keepalive_expiry or 0,
            ssl=self.ssl_context,
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        given = request.extensions.get("timeout", {})
        key = (given.get("connect"), given.get("read"), given.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(sock_connect=key[0], sock_read=key[1], connect=key[2])
            if len(self._timeouts) < 64:  # a client sends with one or two; callers may vary them
                self._timeouts[key] = timeout
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.userinfo:
            # httpx has turned the URL's credentials into an Authorization header already; aiohttp refuses
            # a request that carries both.
            request.url = request.url.copy_with(username=None, password=None)
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        try:
            with map_aiohttp_exceptions():
                return await self._exchange(self.client, request)
        except httpx.ConnectTimeout as exc:
            cause = exc.__cause__
            if isinstance(cause, TimeoutError) or not isinstance(cause, aiohttp.ClientConnectionError):
                raise
            error = httpx.ConnectError if isinstance(cause, aiohttp.ClientConnectorError) else httpx.ReadError
            # The type only: aiohttp messages name the host and may carry URL credentials.
            raise error(type(cause).__name__, request=request) from cause

    async def _exchange(self, session: aiohttp.ClientSession, request: httpx.Request) -> httpx.Response:
        data: bytes | httpx.AsyncByteStream | None
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            data = request.stream  # type: ignore[assignment]
            request.headers.pop("transfer-encoding", None)  # aiohttp writes the chunking itself
        headers = CIMultiDict(request.headers.multi_items())  # decoded as httpx decodes them, repeats kept
        async with session.request(
            request.method,
            URL(str(request.url), encoded=True),  # httpx has normalized and encoded it
            headers=headers,
            data=data,
            allow_redirects=False,
            auto_decompress=False,  # httpx decodes, so its Response sees the headers as sent
            compress=False,
            timeout=self._timeout(request),
            server_hostname=request.extensions.get("sni_hostname"),
        ) as answer:
            body = await answer.read()
        extensions: dict[str, Any] = {"http_version": _HTTP_11}
        if answer.reason:
            extensions["reason_phrase"] = answer.reason.encode()
        response = httpx.Response(
            answer.status,
            headers=answer.raw_headers,
            stream=httpx.ByteStream(body),
            request=request,
            extensions=extensions,
        )
        if "content-encoding" in response.headers:
            response.read()  # httpx's decoders (gzip, deflate, br, zstd)
        else:
            # What ``read()`` would leave, without running the bytes through httpx's identity decoder and
            # chunker (a fifth of what building the response costs): the body, and the stream closed.
            response._content = body
            response.close()
        return response
