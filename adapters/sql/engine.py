"""One ``AsyncEngine`` per source, tuned per dialect.

Both dialects run in autocommit: the adapter only reads, and an implicit BEGIN/ROLLBACK would double the
round trips of every batch.

SQLite: each pooled connection is its own aiosqlite thread, so ``pool_size`` concurrent requests read in
parallel instead of queueing on one connection. The file is switched to WAL (best effort) so those readers
and the owning application's writer do not block each other, every connection is ``query_only``, and a busy
database is waited for up to ``query_timeout_s`` instead of failing at once with "database is locked".

PostgreSQL: the server enforces ``query_timeout_s`` (``statement_timeout``), sessions are read-only and in
UTC (so ``scan(since=...)`` compares timestamps without a local-time surprise).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.sdk.errors import AdapterConfigError

from .config import SQLConfig, sqlite_connect_url

logger = logging.getLogger(__name__)


def _quote_pg_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pool_options(config: SQLConfig) -> dict[str, Any]:
    return {"pool_size": config.pool_size, "max_overflow": 0, "pool_timeout": config.connect_timeout_s}


def _postgres_engine(config: SQLConfig) -> AsyncEngine:
    settings = {
        "application_name": "crmhub",
        "statement_timeout": str(int(config.query_timeout_s * 1000)),
        "default_transaction_read_only": "on",
        "timezone": "UTC",
    }
    if config.db_schema:
        # Tables are schema-qualified already; the search path serves mapped expressions' sub-queries.
        settings["search_path"] = f"{_quote_pg_identifier(config.db_schema)}, public"
    return create_async_engine(
        config.engine_url,
        isolation_level="AUTOCOMMIT",
        connect_args={
            "timeout": config.connect_timeout_s,
            # A client-side backstop one second after the server's statement_timeout (a stalled network).
            "command_timeout": config.query_timeout_s + 1,
            "server_settings": settings,
        },
        **_pool_options(config),
    )


def _sqlite_engine(config: SQLConfig) -> AsyncEngine:
    url = sqlite_connect_url(config.engine_url)
    in_memory = (url.database or "") in ("", ":memory:")
    engine = create_async_engine(
        url,
        isolation_level="AUTOCOMMIT",
        connect_args={"timeout": config.query_timeout_s},  # sqlite3's busy timeout
        # Autocommit and query_only: a returned connection holds no transaction, so the pool's rollback
        # on return (a hop to the connection's thread per query) has nothing to reset.
        pool_reset_on_return=None,
        **({} if in_memory else _pool_options(config)),
    )
    wal = config.sqlite_wal and not in_memory

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                try:
                    cursor.execute("PRAGMA journal_mode=WAL")
                except Exception as exc:  # a write-protected file keeps its journal mode; reads still work
                    logger.info("SQLite database stays in its journal mode: %s", exc)
            cursor.execute("PRAGMA query_only=ON")
        finally:
            cursor.close()

    return engine


def create_engine(config: SQLConfig) -> AsyncEngine:
    """The engine for ``config``; connects lazily, on the first query."""
    try:
        if config.dialect == "sqlite":
            return _sqlite_engine(config)
        return _postgres_engine(config)
    except ImportError as exc:
        package = "asyncpg (pip install 'crmhub[postgres]')" if config.dialect != "sqlite" else "aiosqlite"
        raise AdapterConfigError(
            f"the {config.dialect} driver is not installed: {package} ({exc.name})"
        ) from None
