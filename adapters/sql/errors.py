"""Translate driver and SQLAlchemy failures into the SDK's typed errors.

SQLAlchemy's own messages quote the SQL statement and its parameters, so messages are built here from the
driver's short error text (``no such table: Orders``, ``relation "orders" does not exist``) with any secret
masked, and never from ``str(exc)``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence

from sqlalchemy import exc as sa_exc

from adapters.sdk.errors import (
    AdapterError,
    UpstreamAuthError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)


class SchemaMismatchError(AdapterError):
    """The database does not have a table or column the mapping names (or rejects a mapped expression)."""

    code = "SOURCE_MISCONFIGURED"


# PostgreSQL SQLSTATE classes and codes (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_PG_MISSING = {"42P01": "table", "42703": "column", "3F000": "schema", "42883": "function"}
_PG_UNAVAILABLE_CLASSES = ("08", "53", "57P", "3D")
_PG_AUTH_CLASS = "28"
_PG_TIMEOUTS = ("57014", "55P03")  # query_canceled (statement_timeout), lock_not_available

# SQLite messages (sqlite3 has no codes for these before 3.11's sqlite_errorname, and none distinguish them).
_SQLITE_MISSING = {"no such table": "table", "no such column": "column", "no such function": "function"}
_SQLITE_UNAVAILABLE = ("unable to open database file", "file is not a database", "disk i/o error")
_SQLITE_TIMEOUTS = ("interrupted", "database is locked", "database table is locked")


def _mask(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _driver_error(exc: BaseException) -> BaseException:
    """The root driver exception (asyncpg's or sqlite3's), which carries the code and the short message."""
    inner: BaseException = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    for _ in range(5):  # SQLAlchemy's asyncpg adapter wraps the asyncpg error once; never loop forever
        if inner.__cause__ is None:
            break
        inner = inner.__cause__
    return inner


def _first_line(error: BaseException) -> str:
    # OSError's args are (errno, text); database errors carry the message in args[0]
    message = str(error) if isinstance(error, OSError) or not error.args else str(error.args[0])
    return message.strip().splitlines()[0] if message.strip() else type(error).__name__


def translate(
    exc: BaseException,
    *,
    source: str,
    entity: str | None,
    secrets: Sequence[str] = (),
    timeout_s: float | None = None,
) -> AdapterError:
    """The SDK error for a failure while talking to the database (never raises, never leaks SQL)."""
    if isinstance(exc, AdapterError):
        return exc

    def make(kind: type[AdapterError], message: str) -> AdapterError:
        return kind(_mask(message, secrets), source=source, entity=entity)

    budget = f" within {timeout_s:g}s" if timeout_s is not None else ""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return make(UpstreamTimeoutError, f"the database did not answer{budget}")
    if isinstance(exc, sa_exc.TimeoutError):  # the pool: every connection busy
        return make(UpstreamTimeoutError, f"no database connection became free{budget} (raise pool_size?)")

    driver = _driver_error(exc)
    detail = _first_line(driver)
    sqlstate = str(getattr(driver, "sqlstate", None) or getattr(driver, "pgcode", None) or "")
    what = f"{entity} mapping" if entity else "mapping"

    if sqlstate:
        if sqlstate in _PG_MISSING:
            return make(
                SchemaMismatchError, f"a {_PG_MISSING[sqlstate]} named by the {what} is missing: {detail}"
            )
        if sqlstate in _PG_TIMEOUTS:
            return make(UpstreamTimeoutError, f"the database cancelled the query: {detail}")
        if sqlstate.startswith(_PG_AUTH_CLASS):
            return make(UpstreamAuthError, f"the database rejected the credentials: {detail}")
        if sqlstate.startswith(_PG_UNAVAILABLE_CLASSES):
            return make(UpstreamUnavailableError, f"the database is unavailable: {detail}")
        if sqlstate.startswith("42"):
            return make(SchemaMismatchError, f"the database rejected the SQL of the {what}: {detail}")
        return make(AdapterError, f"the database failed the query (SQLSTATE {sqlstate}): {detail}")

    lowered = detail.lower()
    for prefix, kind in _SQLITE_MISSING.items():
        if lowered.startswith(prefix):
            return make(SchemaMismatchError, f"a {kind} named by the {what} is missing: {detail}")
    if lowered.startswith(_SQLITE_TIMEOUTS):
        return make(UpstreamTimeoutError, f"the database did not answer{budget}: {detail}")
    if lowered.startswith(_SQLITE_UNAVAILABLE):
        return make(UpstreamUnavailableError, f"the database is unavailable: {detail}")
    if isinstance(driver, OSError):
        return make(UpstreamUnavailableError, f"the database is unavailable: cannot connect ({detail})")
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return make(UpstreamUnavailableError, f"the database connection was lost: {detail}")
    if isinstance(exc, sa_exc.InterfaceError | sa_exc.DisconnectionError):
        return make(UpstreamUnavailableError, f"the database connection failed: {detail}")
    # Batch reads on SQLite raise the driver's own errors (see driver_reads.py), others SQLAlchemy's.
    if isinstance(exc, sa_exc.OperationalError | sa_exc.ProgrammingError) or isinstance(
        driver, sqlite3.OperationalError | sqlite3.ProgrammingError
    ):
        # SQLite reports syntax errors in mapped expressions as OperationalError
        return make(SchemaMismatchError, f"the database rejected the SQL of the {what}: {detail}")
    if isinstance(exc, sa_exc.DBAPIError) or isinstance(driver, sqlite3.Error):
        return make(AdapterError, f"the database failed the query: {type(driver).__name__}: {detail}")
    return make(AdapterError, f"unexpected failure talking to the database: {type(exc).__name__}")
