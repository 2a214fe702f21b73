"""The SDK's error types. Adapters translate upstream failures into these so the hub can answer with a
typed error (code + source) and never leak a driver message, URL or SQL statement to API clients."""

from __future__ import annotations


class AdapterError(Exception):
    """Base of every error an adapter raises. ``code`` is stable and safe to show to API clients."""

    code = "SOURCE_ERROR"

    def __init__(self, message: str, *, source: str | None = None, entity: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.entity = entity

    def __str__(self) -> str:
        where = ":".join(part for part in (self.source, self.entity) if part)
        return f"{where}: {self.message}" if where else self.message


class AdapterConfigError(AdapterError):
    """The source's configuration is invalid; raised at start-up, never during a request."""

    code = "SOURCE_MISCONFIGURED"


class UnsupportedEntityError(AdapterError):
    """The adapter does not provide this entity or cannot look it up by that field."""

    code = "UNSUPPORTED_ENTITY"


class UpstreamUnavailableError(AdapterError):
    """The upstream refused the connection, answered 5xx, or is otherwise down."""

    code = "SOURCE_UNAVAILABLE"


class UpstreamTimeoutError(AdapterError):
    """The upstream did not answer within the configured timeout."""

    code = "SOURCE_TIMEOUT"


class UpstreamRateLimitedError(AdapterError):
    """The upstream answered 429 and retrying within the budget did not help."""

    code = "SOURCE_RATE_LIMITED"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        source: str | None = None,
        entity: str | None = None,
    ) -> None:
        super().__init__(message, source=source, entity=entity)
        self.retry_after = retry_after


class UpstreamAuthError(AdapterError):
    """The upstream rejected the configured credentials (401/403)."""

    code = "SOURCE_AUTH_FAILED"


class MalformedResponseError(AdapterError):
    """The upstream answered, but not with what its API promises (bad JSON, missing record path...)."""

    code = "SOURCE_MALFORMED_RESPONSE"


class RecordValidationError(AdapterError):
    """An upstream record could not be mapped onto its canonical model."""

    code = "SOURCE_INVALID_RECORD"
