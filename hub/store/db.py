"""Engine and session factory of the hub's own database, and its migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from .inline import InlineReads, InlineReadUnavailable

T = TypeVar("T")

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while a writer commits; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _roll_back_only_open_transactions(dialect: Dialect) -> None:
    """aiosqlite runs every driver call on the connection's own thread, so the ROLLBACK that ends each
    session and resets each connection returned to the pool is a round trip to that thread, about a
    seventh of a millisecond, even when there is nothing to undo: sqlite3 opens a transaction on the first
    write only, so after a read there never is. Ask the driver first and skip the round trip then."""
    roll_back = dialect.do_rollback

    def do_rollback(dbapi_connection: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if getattr(driver, "in_transaction", True):
            roll_back(dbapi_connection)

    dialect.do_rollback = do_rollback  # type: ignore[method-assign]


class Database:
    def __init__(self, url: str, *, echo: bool = False, inline_read_budget_ms: float = 2.0) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        file = parsed.database if self.is_sqlite and parsed.database != ":memory:" else None
        if file:
            Path(file).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, pool_pre_ping=not self.is_sqlite)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            _roll_back_only_open_transactions(self.engine.sync_engine.dialect)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        #: SQLite files: short reads on the event loop's thread first (see inline.py); ``None`` otherwise.
        self.inline_reads = (
            InlineReads(parsed, budget_seconds=inline_read_budget_ms / 1000)
            if file and inline_read_budget_ms > 0
            else None
        )

    async def read(self, read: Callable[[Session], T]) -> T:
        """``read(session)`` with a synchronous ORM ``Session``: on the event loop's thread when the hub
        database is a SQLite file and the read finishes within its budget, else on the async engine.

        ``read`` must only read, and may be run twice (a read handed over starts again on the engine).
        """
        if self.inline_reads is not None:
            try:
                return self.inline_reads.run(read)
            except InlineReadUnavailable:
                pass
        async with self.sessions() as session:
            return await session.run_sync(read)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            yield session

    async def migrate(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` with Alembic on this engine's own connection."""

        def upgrade(connection: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade)

    async def aclose(self) -> None:
        if self.inline_reads is not None:
            self.inline_reads.dispose()
        await self.engine.dispose()


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config
