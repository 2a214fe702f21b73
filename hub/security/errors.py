"""Errors of the security layer."""

from __future__ import annotations

from hub.errors import HubError


class AuthenticationError(Exception):
    """The request carries no usable credentials: answered 401 with a ``WWW-Authenticate`` challenge."""

    def __init__(self, description: str, *, token_presented: bool) -> None:
        super().__init__(description)
        self.description = description
        #: RFC 6750: a request that sent a token gets ``error="invalid_token"``, one that sent none does not.
        self.token_presented = token_presented


class AuthUnavailableError(Exception):
    """Credentials cannot be checked right now (the identity provider's keys are unreachable): 503."""


class ForbiddenError(HubError):
    """The principal may not read this field or run this operation."""

    code = "FORBIDDEN"


class KeyNotFoundError(HubError):
    code = "NOT_FOUND"
