"""The default transport of REST adapters: httpx's API over aiohttp's connection pool and C HTTP parser.

Adapters, authenticators and tests keep speaking httpx (requests, ``httpx.Auth`` flows, mock transports);
only the bytes on the wire go through aiohttp, whose compiled parser costs a fraction of httpcore's
pure-Python one. With a customer 360 making a dozen upstream calls, that CPU is latency: the answers all
arrive at about the same moment and are decoded one after another on the event loop.

``httpx-aiohttp`` does the translation. Three things are adjusted here: credentials in a base URL are
sent only as the Authorization header httpx derived from them, cookies are left to httpx (aiohttp
would keep a second jar), and a refused or dropped connection is reported as httpx's ``ConnectError`` or
``ReadError``, not as the ``ConnectTimeout`` that package maps every ``aiohttp.ClientConnectionError`` to,
so a silo that is down or hangs up is "unavailable", never "timed out".
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

#: Connections kept per source; the client's own gate (``max_concurrency``) bounds what is used at once.
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


class UpstreamTransport(AiohttpTransport):
    """``AiohttpTransport`` with httpx's cookie handling and an honest type for dropped connections."""

    def __init__(self) -> None:
        super().__init__(limits=_LIMITS, trust_env=False)

    def get_client(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=_LIMITS.max_connections or 0,
            keepalive_timeout=_LIMITS.keepalive_expiry or 0,
            ssl=self.ssl_context,
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.userinfo:
            # httpx has turned the URL's credentials into an Authorization header already; aiohttp refuses
            # a request that carries both.
            request.url = request.url.copy_with(username=None, password=None)
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            cause = exc.__cause__
            if isinstance(cause, TimeoutError) or not isinstance(cause, aiohttp.ClientConnectionError):
                raise
            error = httpx.ConnectError if isinstance(cause, aiohttp.ClientConnectorError) else httpx.ReadError
            # The type only: aiohttp messages name the host and may carry URL credentials.
            raise error(type(cause).__name__, request=request) from cause
