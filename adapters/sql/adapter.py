"""``SQLAdapter``: any SQLite or PostgreSQL database mapped onto canonical entities in YAML, no Python.

Every batch read (and aggregate) is one ``SELECT ... WHERE key IN (...)`` per ``batch_size`` keys;
``queries_executed`` counts the statements sent, so the hub's metrics and tests can prove it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, TypeVar

from sqlalchemy import ColumnElement, Executable, Select, String, case, cast, func, literal, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import DateTime

from adapters.sdk.adapter import Adapter
from adapters.sdk.aggregate import Aggregate, Measure, check_aggregate, merge_aggregates
from adapters.sdk.errors import AdapterError
from adapters.sdk.health import Health
from adapters.sdk.mapping import EntityMapping
from adapters.sdk.models import CanonicalRecord, Entity
from adapters.sdk.types import ExternalId

from .aggregates import AggregateStatement
from .config import SQLConfig
from .driver_reads import DriverRead, connection_lost
from .engine import create_engine
from .errors import translate
from .inline_reads import InlineReader
from .statements import CHANGED_AT_LABEL, KEY_SEPARATOR, EntityQuery, Row, key_label
from .values import PG_TEXT_TYPES, key_text, pg_key_parser, sqlite_timestamp_text

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Bound parameters per statement: under asyncpg's 32767 and SQLite's 32766 limits.
_MAX_PARAMETERS = 30_000
#: Reads with more parameters than this skip the loop's thread: a page of keys, not a customer's handful.
INLINE_MAX_PARAMETERS = 500


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


#: Interruptions in flight: the loop keeps only weak references to tasks.
_interruptions: set[asyncio.Future[None]] = set()


def _interrupt(driver_connection: Any) -> None:
    # Only when the deadline fires does the interruption need a task of its own.
    task = asyncio.ensure_future(driver_connection.interrupt())
    _interruptions.add(task)
    task.add_done_callback(_interruptions.discard)


class SQLAdapter(Adapter[SQLConfig]):
    """Reads canonical entities from the tables (or queries) an administrator maps in ``SQLConfig``."""

    name: ClassVar[str] = "sql"
    config_model: ClassVar[type[SQLConfig]] = SQLConfig

    def __init__(self, *, source: str, config: SQLConfig) -> None:
        super().__init__(source=source, config=config)
        #: Statements executed by the database: batch reads, scan pages and health checks.
        self.queries_executed = 0
        #: PostgreSQL only: statements described (not executed) to learn column types, once per entity.
        self.type_probes = 0
        self._queries = {
            entity: EntityQuery.build(entity, spec, config.db_schema)
            for entity, spec in config.entities.items()
        }
        self._mappings = {entity: query.mapping for entity, query in self._queries.items()}
        self._dialect = config.dialect
        # PostgreSQL column types of keys, relations and updated_at, learned once per entity (see values.py).
        self._pg_types: dict[Entity, dict[str, int]] = {}
        self._engine = create_engine(config)
        #: Aggregate statements by (entity, by_field, measures, group_by): built once, run with new values.
        self._aggregates: dict[tuple[Any, ...], AggregateStatement] = {}
        #: SQLite: the reused statements compiled for the driver (``None``: SQLAlchemy must run it).
        self._driver_reads: dict[Executable, DriverRead | None] = {}
        #: SQLite files: short batch reads tried on the event loop's thread first (see inline_reads.py).
        self._inline = (
            InlineReader(
                self._engine.url,
                self._engine.dialect,
                budget_seconds=config.sqlite_inline_budget_ms / 1000,
                max_parameters=INLINE_MAX_PARAMETERS,
            )
            if self._dialect == "sqlite" and config.sqlite_inline_budget_ms > 0 and not config.in_memory
            else None
        )

    @property
    def mappings(self) -> Mapping[Entity, EntityMapping]:
        return self._mappings

    @property
    def upstream_calls(self) -> int:
        return self.queries_executed

    def chunk_size(self, entity: Entity, by_field: str | None = None) -> int | None:
        """Keys (or relation values) per query of a batch read of ``entity``."""
        query = self._queries.get(entity)
        return self._chunk_size(query) if query is not None else None

    @property
    def inline_reads(self) -> InlineReader | None:
        """SQLite files: the reader of short batch reads on the event loop's thread (``None`` otherwise)."""
        return self._inline

    async def aclose(self) -> None:
        if self._inline is not None:
            self._inline.close()
        await self._engine.dispose()

    # -- execution ----------------------------------------------------------------------------------

    def _error(self, exc: BaseException, entity: Entity | None) -> AdapterError:
        error = translate(
            exc,
            source=self.source,
            entity=entity.value if entity else None,
            secrets=self.config.secrets,
            timeout_s=self.config.query_timeout_s,
        )
        logger.debug("source %s: %s (%s)", self.source, error.message, type(exc).__name__)
        return error

    async def _run(
        self,
        conn: AsyncConnection,
        statement: Executable,
        parameters: Mapping[str, Any] | None = None,
        *,
        reused: bool = False,
    ) -> Sequence[Row]:
        self.queries_executed += 1
        if self._dialect != "sqlite":
            return list((await conn.execute(statement, parameters)).mappings().all())
        # An aiosqlite query runs in its connection's thread and ignores task cancellation; interrupting
        # the SQLite connection is what really stops it at query_timeout_s.
        driver = (await conn.get_raw_connection()).driver_connection
        watchdog = asyncio.get_running_loop().call_later(self.config.query_timeout_s, _interrupt, driver)
        try:
            read = self._driver_read(statement) if reused else None
            if read is None:
                return list((await conn.execute(statement, parameters)).mappings().all())
            try:
                return await read.fetch(driver, parameters)
            except Exception as exc:
                if not connection_lost(exc):
                    raise
                # What SQLAlchemy does for its own statements: drop the connection, and _on_connection
                # retries once on a new one.
                await conn.invalidate(exc)
                raise sa_exc.DBAPIError(None, None, exc, connection_invalidated=True) from None
        finally:
            watchdog.cancel()

    def _driver_read(self, statement: Executable) -> DriverRead | None:
        # Keyed by the statement object: only statements built once per entity are passed as reused.
        if statement in self._driver_reads:
            return self._driver_reads[statement]
        read = DriverRead.compile(statement, self._engine.dialect) if isinstance(statement, Select) else None
        self._driver_reads[statement] = read
        return read

    async def _describe(self, conn: AsyncConnection, statement: Select[Any]) -> dict[str, int]:
        """PostgreSQL result column type oids of ``statement``, by label: prepared, never executed."""
        self.type_probes += 1
        sql = str(statement.compile(dialect=self._engine.dialect, compile_kwargs={"literal_binds": True}))
        driver: Any = (await conn.get_raw_connection()).driver_connection  # an asyncpg Connection
        prepared = await driver.prepare(sql)
        return {attribute.name: attribute.type.oid for attribute in prepared.get_attributes()}

    async def _on_connection(
        self, entity: Entity | None, operation: Callable[[AsyncConnection], Awaitable[T]]
    ) -> T:
        """Run ``operation`` on a pooled connection; every failure comes out as an SDK ``AdapterError``."""
        # The overall budget covers connecting plus the query; the per-query limits fire first.
        budget = self.config.connect_timeout_s + self.config.query_timeout_s + 2
        for attempt in (1, 2):
            try:
                async with asyncio.timeout(budget), self._engine.connect() as conn:
                    return await operation(conn)
            except sa_exc.DBAPIError as exc:
                # A pooled connection the server closed meanwhile: the pool drops it, one retry reconnects.
                if attempt == 1 and exc.connection_invalidated:
                    continue
                raise self._error(exc, entity) from None
            except (TimeoutError, Exception) as exc:
                raise self._error(exc, entity) from None
        raise AssertionError("unreachable")

    async def _rows(
        self,
        entity: Entity | None,
        statement: Executable,
        parameters: Mapping[str, Any] | None = None,
        *,
        reused: bool = False,
    ) -> Sequence[Row]:
        """The rows of ``statement``; ``reused`` marks a statement built once and run many times."""
        if reused and self._inline is not None:
            read = self._driver_read(statement)
            rows = self._inline.fetch(read, parameters) if read is not None else None
            if rows is not None:
                self.queries_executed += 1
                return rows
        return await self._on_connection(
            entity, partial(self._run, statement=statement, parameters=parameters, reused=reused)
        )

    # -- parameters ---------------------------------------------------------------------------------

    async def _column_types(self, query: EntityQuery) -> dict[str, int]:
        """PostgreSQL type oids of the columns in ``EntityQuery.probe``, learned once per entity.

        asyncpg encodes each parameter by the type the server infers for it, so keys (always text in the
        SDK) must be parsed into that type first. Describing the probe is a Parse/Describe round trip that
        executes nothing; it is counted in ``type_probes``, not in ``queries_executed``.
        """
        known = self._pg_types.get(query.entity)
        if known is None:
            known = await self._on_connection(query.entity, partial(self._describe, statement=query.probe()))
            self._pg_types[query.entity] = known
        return known

    def _chunk_size(self, query: EntityQuery) -> int:
        # Both drivers bind at most ~32k parameters per statement; a wide composite key needs smaller chunks.
        return max(1, min(self.config.batch_size, _MAX_PARAMETERS // len(query.key_columns)))

    async def _key_params(self, query: EntityQuery, keys: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        """Each key that can exist, normalised (``split_key``), -> the column values to look it up by."""
        parsers = None
        if self._dialect == "postgresql":
            types = await self._column_types(query)
            parsers = [pg_key_parser(types.get(key_label(i))) for i in range(len(query.key_columns))]
        params: dict[str, tuple[Any, ...]] = {}
        for key in keys:
            parts = query.split_key(key)
            if parts is None:
                continue
            normalised = KEY_SEPARATOR.join(parts)
            if parsers is not None:
                try:
                    parts = tuple(parse(part) for parse, part in zip(parsers, parts, strict=True))
                except ValueError:
                    continue  # e.g. "abc" for an integer key column: no such record
            params[normalised] = parts
        return params

    async def _value_params(self, query: EntityQuery, field: str, values: Sequence[str]) -> list[Any]:
        if self._dialect != "postgresql":
            return list(values)
        parse = pg_key_parser((await self._column_types(query)).get(field))
        params = []
        for value in values:
            with contextlib.suppress(ValueError):
                params.append(parse(value))
        return params

    async def _changed_since(self, query: EntityQuery, since: datetime) -> ColumnElement[bool] | None:
        column = query.changed_at
        if column is None:
            return None
        if self._dialect == "sqlite":
            # SQLite keeps timestamps as ISO text (or unix epoch numbers); normalise both to UTC text.
            normalised = case(
                (
                    func.typeof(column).in_(["integer", "real"]),
                    func.strftime("%Y-%m-%d %H:%M:%f", column, "unixepoch"),
                ),
                else_=func.strftime("%Y-%m-%d %H:%M:%f", column),
            )
            return normalised > literal(sqlite_timestamp_text(since), String)
        if (await self._column_types(query)).get(CHANGED_AT_LABEL) in PG_TEXT_TYPES:
            return cast(column, DateTime(timezone=True)) > since
        return column > literal(since, DateTime(timezone=True))

    def _query(self, entity: Entity, by_field: str | None = None) -> EntityQuery:
        self.mapping_for(entity, by_field)  # raises UnsupportedEntityError
        return self._queries[entity]

    # -- batch reads --------------------------------------------------------------------------------

    async def get_many(self, entity: Entity, keys: Sequence[ExternalId]) -> list[CanonicalRecord | None]:
        query = self._query(entity)
        params = await self._key_params(query, list(dict.fromkeys(keys)))
        found: dict[str, CanonicalRecord] = {}
        for chunk in _chunks(list(params.values()), self._chunk_size(query)):
            statement, parameters = query.lookup(chunk)
            # Without parameters the statement was built for these keys alone (composite keys).
            rows = await self._rows(entity, statement, parameters, reused=parameters is not None)
            for row in rows:
                found[query.key_of(row)] = query.record(self.source, row)
        wanted = [query.split_key(key) for key in keys]
        return [found.get(KEY_SEPARATOR.join(parts)) if parts else None for parts in wanted]

    async def find_related(
        self, entity: Entity, by_field: str, values: Sequence[str]
    ) -> list[list[CanonicalRecord]]:
        query = self._query(entity, by_field)
        wanted = list(dict.fromkeys(value.strip() for value in values))
        params = await self._value_params(query, by_field, wanted)
        groups: dict[str, list[CanonicalRecord]] = {}
        for chunk in _chunks(params, self._chunk_size(query)):
            statement, parameters = query.related(by_field, chunk)
            for row in await self._rows(entity, statement, parameters, reused=True):
                groups.setdefault(key_text(row[by_field]), []).append(query.record(self.source, row))
        return [list(groups.get(value.strip(), ())) for value in values]

    async def aggregate_related(
        self,
        entity: Entity,
        by_field: str,
        values: Sequence[str],
        measures: Sequence[Measure],
        *,
        group_by: Sequence[str] = (),
    ) -> list[list[Aggregate]]:
        """Pushed down: one ``SELECT ... GROUP BY`` per chunk of values (see ``aggregates.py``)."""
        query = self._query(entity, by_field)
        shape = (entity, by_field, tuple(measures), tuple(group_by))
        statement = self._aggregates.get(shape)
        if statement is None:
            check_aggregate(query.mapping, measures, group_by, source=self.source)
            statement = AggregateStatement.build(query, by_field, measures, group_by, self._dialect)
            if statement is None:
                return await super().aggregate_related(entity, by_field, values, measures, group_by=group_by)
            self._aggregates[shape] = statement
        wanted = list(dict.fromkeys(value.strip() for value in values))
        params = await self._value_params(query, by_field, wanted)
        found: dict[str, list[Aggregate]] = {}
        for chunk in _chunks(params, self._chunk_size(query)):
            rows = await self._rows(entity, statement.select_values, statement.parameters(chunk), reused=True)
            for value, aggregate in statement.read(rows):
                groups = found.get(value)
                if groups is None:
                    found[value] = [aggregate]
                else:
                    groups.append(aggregate)
        for value, groups in found.items():
            if len(groups) > 1:  # sorted by group, and merged where stripping made two groups one
                found[value] = merge_aggregates(groups)
        return [list(found.get(value.strip(), ())) for value in values]

    async def scan(self, entity: Entity, since: datetime | None = None) -> AsyncIterator[CanonicalRecord]:
        query = self._query(entity)
        page = query.base_select().where(*query.key_not_null())
        if since is not None:
            changed = await self._changed_since(query, since)
            if changed is not None:
                page = page.where(changed)
        page = page.order_by(*query.key_columns).limit(self.config.page_size)
        last: tuple[Any, ...] | None = None
        while True:
            # Each page on its own pooled connection: a slow consumer never pins a connection.
            rows = await self._rows(entity, page if last is None else page.where(query.key_after(last)))
            for row in rows:
                yield query.record(self.source, row)
            if len(rows) < self.config.page_size:
                return
            last = query.key_values(rows[-1])

    async def check(self) -> Health:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.config.connect_timeout_s + 1):
                await self._rows(None, text("SELECT 1"))
        except AdapterError as exc:
            return Health(ok=False, latency_ms=(time.perf_counter() - started) * 1000, detail=exc.message)
        except (TimeoutError, Exception) as exc:
            detail = translate(exc, source=self.source, entity=None, secrets=self.config.secrets).message
            return Health(ok=False, latency_ms=(time.perf_counter() - started) * 1000, detail=detail)
        return Health(ok=True, latency_ms=(time.perf_counter() - started) * 1000)
