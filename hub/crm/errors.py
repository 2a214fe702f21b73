"""Typed errors of the CRM services. Each has a stable ``code`` and names the input ``field`` at fault
(in the API's spelling, e.g. ``lostReason``), so clients can show the message next to the right input."""

from __future__ import annotations

from hub.errors import HubError, InvalidInputError


def api_field(name: str) -> str:
    """``lost_reason`` -> ``lostReason``: errors speak the API's field names, not the database's."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


class ValidationError(InvalidInputError):
    """An input value is missing, too long, malformed or not allowed."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=api_field(field) if field else None)


class NotFoundError(HubError):
    code = "NOT_FOUND"

    def __init__(self, message: str, *, field: str | None = "id") -> None:
        super().__init__(message, field=api_field(field) if field else None)


class StaleVersionError(HubError):
    """Someone else changed the record since the caller read it; re-read and retry."""

    code = "STALE_VERSION"

    def __init__(self, message: str, *, current_version: int | None = None) -> None:
        super().__init__(message, field="version")
        self.current_version = current_version


class InvalidStateError(HubError):
    """The record's state does not allow this change (e.g. editing a converted lead)."""

    code = "INVALID_STATE"

    def __init__(self, message: str, *, field: str | None = "status") -> None:
        super().__init__(message, field=api_field(field) if field else None)


class AlreadyConvertedError(InvalidStateError):
    code = "ALREADY_CONVERTED"


class DuplicateError(HubError):
    """A value that must be unique is already taken."""

    code = "DUPLICATE"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=api_field(field) if field else None)


class TerritoryCycleError(HubError):
    code = "TERRITORY_CYCLE"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="parentId")


class ImportFailedError(HubError):
    """A CSV import had row errors; nothing was imported. ``report`` lists every row's problems."""

    code = "IMPORT_FAILED"

    def __init__(self, message: str, *, report: object) -> None:
        super().__init__(message, field="csv")
        self.report = report


class ConflictError(HubError):
    """The database refused the write (a unique key or a reference changed concurrently)."""

    code = "CONFLICT"
