"""Authenticators for REST adapters, as ``httpx.Auth`` flows.

Secrets arrive as ``SecretStr`` (or plain strings) and are only unwrapped when a header or parameter is
written, so a repr or a log line of an authenticator never shows them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from typing import Literal

import httpx
from pydantic import SecretStr

from ..errors import MalformedResponseError, UpstreamAuthError, UpstreamUnavailableError
from .exchange import FixedHeadersAuth
from .http import redact_url


def _reveal(secret: SecretStr | str) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


class BearerTokenAuth(FixedHeadersAuth):
    """``Authorization: Bearer <token>`` (or another ``scheme``)."""

    def __init__(self, token: SecretStr | str, *, scheme: str = "Bearer") -> None:
        self._token = SecretStr(_reveal(token))
        self._scheme = scheme

    def fixed_headers(self) -> Mapping[str, str]:
        return {"Authorization": f"{self._scheme} {self._token.get_secret_value()}"}


def _basic_header(username: str, password: SecretStr | str) -> SecretStr:
    pair = f"{username}:{_reveal(password)}".encode()
    return SecretStr("Basic " + base64.b64encode(pair).decode("ascii"))


class BasicAuth(FixedHeadersAuth):
    """HTTP Basic authentication."""

    def __init__(self, username: str, password: SecretStr | str) -> None:
        self._header = _basic_header(username, password)

    def fixed_headers(self) -> Mapping[str, str]:
        return {"Authorization": self._header.get_secret_value()}


class ApiKeyAuth(FixedHeadersAuth):
    """An API key in a header (optionally prefixed, e.g. ``Token``) or in a query parameter."""

    def __init__(
        self,
        key: SecretStr | str,
        *,
        name: str = "X-API-Key",
        location: Literal["header", "query"] = "header",
        prefix: str | None = None,
    ) -> None:
        if location not in ("header", "query"):
            raise ValueError(f"location must be 'header' or 'query', not {location!r}")
        self._key = SecretStr(_reveal(key))
        self._name = name
        self._location = location
        self._prefix = prefix

    def fixed_headers(self) -> Mapping[str, str] | None:
        if self._location == "query":
            return None
        value = self._key.get_secret_value()
        return {self._name: f"{self._prefix} {value}" if self._prefix else value}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._location != "query":
            yield from super().auth_flow(request)
            return
        request.url = request.url.copy_merge_params({self._name: self._key.get_secret_value()})
        yield request


class OAuth2ClientCredentials(httpx.Auth):
    """OAuth 2 client-credentials grant with a cached token.

    The token is fetched on first use, refreshed ``expiry_margin_seconds`` before it expires, and
    refreshed once when the upstream answers 401 anyway (revoked early, clock skew); a second 401 is
    handed back to the client, which raises ``UpstreamAuthError``. Concurrent requests share one refresh.
    """

    requires_request_body = True  # a request retried after a refresh must be re-sendable
    requires_response_body = True

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: SecretStr | str,
        scopes: Sequence[str] = (),
        audience: str | None = None,
        extra_params: Mapping[str, str] | None = None,
        client_auth: Literal["body", "basic"] = "body",
        expiry_margin_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not httpx.URL(token_url).is_absolute_url:
            raise ValueError(f"token_url must be an absolute URL, not {token_url!r}")
        if client_auth not in ("body", "basic"):
            raise ValueError(f"client_auth must be 'body' or 'basic', not {client_auth!r}")
        self.token_url = token_url
        self.token_requests = 0
        self._client_id = client_id
        self._client_secret = SecretStr(_reveal(client_secret))
        self._scopes = tuple(scopes)
        self._audience = audience
        self._extra = dict(extra_params or {})
        self._client_auth = client_auth
        self._margin = expiry_margin_seconds
        self._clock = clock
        self._token: SecretStr | None = None
        self._expires_at: float | None = None
        self._lock = asyncio.Lock()

    # -- token handling -----------------------------------------------------------------------------

    def _needs_token(self) -> bool:
        if self._token is None:
            return True
        return self._expires_at is not None and self._clock() >= self._expires_at

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        """The token request made on behalf of ``request``, within the same timeouts (requests an auth
        flow creates get none from the client, and a token endpoint that never answers must not hang)."""
        self.token_requests += 1
        form = {"grant_type": "client_credentials", **self._extra}
        if self._scopes:
            form["scope"] = " ".join(self._scopes)
        if self._audience:
            form["audience"] = self._audience
        headers = {"Accept": "application/json"}
        if self._client_auth == "basic":
            headers["Authorization"] = _basic_header(self._client_id, self._client_secret).get_secret_value()
        else:
            form["client_id"] = self._client_id
            form["client_secret"] = self._client_secret.get_secret_value()
        extensions = {"timeout": request.extensions["timeout"]} if "timeout" in request.extensions else {}
        return httpx.Request("POST", self.token_url, data=form, headers=headers, extensions=extensions)

    def _store(self, response: httpx.Response) -> None:
        where = f"token endpoint {redact_url(self.token_url)}"
        if response.status_code >= 500:
            raise UpstreamUnavailableError(f"{where} answered {response.status_code}")
        if response.status_code != 200:
            raise UpstreamAuthError(f"{where} refused the client credentials ({response.status_code})")
        try:
            payload = json.loads(response.content)
        except ValueError:
            raise MalformedResponseError(f"{where} answered with a body that is not JSON") from None
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise MalformedResponseError(f"{where} answered without an access_token")
        self._token = SecretStr(token)
        lifetime = payload.get("expires_in")
        try:
            seconds = float(lifetime) if lifetime is not None else None
        except (TypeError, ValueError):
            seconds = None
        # A margin bigger than half the lifetime would refresh on every request for short-lived tokens.
        self._expires_at = (
            None if seconds is None else self._clock() + seconds - min(self._margin, seconds / 2)
        )

    def _authorize(self, request: httpx.Request) -> SecretStr | None:
        token = self._token
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        return token

    # -- flows --------------------------------------------------------------------------------------

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._needs_token():
            self._store((yield self._token_request(request)))
        used = self._authorize(request)
        response = yield request
        if response.status_code != 401:
            return
        if self._token is used:
            self._store((yield self._token_request(request)))
        self._authorize(request)
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        async with self._lock:
            if self._needs_token():
                token_response = yield self._token_request(request)
                await token_response.aread()
                self._store(token_response)
        used = self._authorize(request)
        response = yield request
        if response.status_code != 401:
            return
        async with self._lock:
            if self._token is used:  # nobody refreshed while this request was in flight
                token_response = yield self._token_request(request)
                await token_response.aread()
                self._store(token_response)
        self._authorize(request)
        yield request
