"""Session-cookie login: the authenticator of APIs that hand out a session at a login endpoint.

SAP Business One's Service Layer (``POST /b1s/v1/Login`` answers with the ``B1SESSION`` and ``ROUTEID``
cookies) and Odoo's web session (``POST /web/session/authenticate`` answers with ``session_id``) work this
way. The session is shared by every request of the source: one login per process, not per request, which
matters where each session holds a user licence until it times out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from ..errors import MalformedResponseError, UpstreamAuthError, UpstreamUnavailableError
from .http import redact_url


def _revealed(value: Any) -> Any:
    """``value`` with every ``SecretStr`` in it (nested in dicts and lists too) unwrapped."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Mapping):
        return {key: _revealed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_revealed(item) for item in value]
    return value


class SessionLoginAuth(httpx.Auth):
    """Log in once with a JSON POST, then send the session's cookies with every request.

    - The first request logs in: ``body`` (secrets as ``SecretStr``) is POSTed as JSON to ``login_url``.
      The cookies the answer sets are the session; an answer that sets none is an error.
    - Cookies a later answer sets or renews (a load balancer's routing cookie) replace the old ones.
    - A request answered with one of ``expired_statuses`` (the session timed out or was dropped upstream)
      logs in again and is retried once; a second refusal is handed back to the client, which raises
      ``UpstreamAuthError``. Concurrent requests share one login.
    - ``error_field``: a field of the login answer that, when present and not null, means the login was
      refused although the status is 200 (Odoo answers a JSON-RPC ``error`` that way).
    """

    requires_request_body = True  # a request retried after a new login must be re-sendable
    requires_response_body = True

    def __init__(
        self,
        *,
        login_url: str,
        body: Mapping[str, Any],
        error_field: str | None = None,
        expired_statuses: tuple[int, ...] = (401,),
    ) -> None:
        if not httpx.URL(login_url).is_absolute_url:
            raise ValueError(f"login_url must be an absolute URL, not {login_url!r}")
        if not expired_statuses:
            raise ValueError("expired_statuses must name at least one status")
        self.login_url = login_url
        self.logins = 0
        self._body = dict(body)
        self._error_field = error_field
        self._expired = frozenset(expired_statuses)
        self._cookies = httpx.Cookies()
        #: Bumped by every login, so a request refused with an old session knows whether to log in again.
        self._session = 0
        self._lock = asyncio.Lock()

    @property
    def logged_in(self) -> bool:
        return self._session > 0

    def _login_request(self, request: httpx.Request) -> httpx.Request:
        """The login made on behalf of ``request``, within its timeouts (requests an auth flow creates get
        none from the client, and a login endpoint that never answers must not hang)."""
        self.logins += 1
        extensions = {"timeout": request.extensions["timeout"]} if "timeout" in request.extensions else {}
        return httpx.Request(
            "POST",
            self.login_url,
            json=_revealed(self._body),
            headers={"Accept": "application/json"},
            extensions=extensions,
        )

    def _store(self, response: httpx.Response) -> None:
        where = f"login at {redact_url(self.login_url)}"
        status = response.status_code
        if status >= 500:
            raise UpstreamUnavailableError(f"{where} answered {status}")
        if not 200 <= status < 300:
            raise UpstreamAuthError(f"{where} refused the credentials ({status})")
        if self._error_field is not None:
            try:
                payload = json.loads(response.content) if response.content else None
            except ValueError:
                raise MalformedResponseError(f"{where} answered with a body that is not JSON") from None
            if isinstance(payload, dict) and payload.get(self._error_field) is not None:
                raise UpstreamAuthError(f"{where} refused the credentials (its answer has an error)")
        session = httpx.Cookies()
        session.extract_cookies(response)
        if not session:
            raise MalformedResponseError(f"{where} answered {status} without setting a session cookie")
        self._cookies = session
        self._session += 1

    def _authorize(self, request: httpx.Request) -> int:
        request.headers.pop("Cookie", None)  # a retried request carries the old session's
        self._cookies.set_cookie_header(request)
        return self._session

    def _keep_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            self._cookies.extract_cookies(response)

    # -- flows --------------------------------------------------------------------------------------

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self.logged_in:
            self._store((yield self._login_request(request)))
        used = self._authorize(request)
        response = yield request
        self._keep_cookies(response)
        if response.status_code not in self._expired:
            return
        if self._session == used:
            self._store((yield self._login_request(request)))
        self._authorize(request)
        self._keep_cookies((yield request))

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        async with self._lock:
            if not self.logged_in:
                login = yield self._login_request(request)
                await login.aread()
                self._store(login)
        used = self._authorize(request)
        response = yield request
        self._keep_cookies(response)
        if response.status_code not in self._expired:
            return
        async with self._lock:
            if self._session == used:  # nobody logged in again while this request was in flight
                login = yield self._login_request(request)
                await login.aread()
                self._store(login)
        self._authorize(request)
        self._keep_cookies((yield request))
