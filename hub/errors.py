"""Domain errors. Each carries a stable ``code`` the API layer exposes in GraphQL error extensions."""

from __future__ import annotations


class HubError(Exception):
    code = "HUB_ERROR"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConfigError(HubError):
    """The configuration file is invalid; start-up stops with this message."""

    code = "CONFIG_INVALID"


class InvalidInputError(HubError):
    code = "BAD_USER_INPUT"


class InvalidCursorError(InvalidInputError):
    code = "INVALID_CURSOR"
