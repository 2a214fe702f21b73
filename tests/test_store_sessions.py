"""The hub database's sessions on SQLite: a read does not pay for a ROLLBACK it has no use for, and every
write that is not committed is still undone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import func, select

from hub.store.db import Database
from hub.store.models import HubCustomer


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}")
    await database.migrate()
    try:
        yield database
    finally:
        await database.aclose()


@pytest.fixture
def driver_rollbacks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each ROLLBACK that reaches the driver, recorded as whether the connection had a transaction open."""
    calls: list[bool] = []
    roll_back = aiosqlite.Connection.rollback

    async def rollback(self: aiosqlite.Connection) -> None:
        calls.append(self.in_transaction)
        await roll_back(self)

    monkeypatch.setattr(aiosqlite.Connection, "rollback", rollback)
    return calls


async def _count(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(HubCustomer)) or 0)


async def test_a_read_session_sends_no_rollback_to_the_driver(
    db: Database, driver_rollbacks: list[bool]
) -> None:
    for _ in range(3):
        assert await _count(db) == 0
    assert driver_rollbacks == []


async def test_a_committed_write_stays(db: Database, driver_rollbacks: list[bool]) -> None:
    async with db.transaction() as session:
        session.add(HubCustomer(id="c-1", display_name="Alfreds Futterkiste"))
    assert await _count(db) == 1
    assert driver_rollbacks == []


async def test_a_failed_transaction_is_rolled_back(db: Database, driver_rollbacks: list[bool]) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            session.add(HubCustomer(id="c-1", display_name="Alfreds Futterkiste"))
            await session.flush()
            raise RuntimeError("the service failed after writing")
    assert driver_rollbacks == [True]
    assert await _count(db) == 0


async def test_a_session_closed_without_commit_is_rolled_back(
    db: Database, driver_rollbacks: list[bool]
) -> None:
    async with db.session() as session:
        session.add(HubCustomer(id="c-1", display_name="Alfreds Futterkiste"))
        await session.flush()
    assert driver_rollbacks == [True]
    assert await _count(db) == 0
    # The connection went back to the pool clean: the next write on it commits on its own.
    async with db.transaction() as session:
        session.add(HubCustomer(id="c-2", display_name="Ana Trujillo"))
    assert await _count(db) == 1
