"""``RESTAdapter``: an adapter made of declarations (endpoints, paginators, an authenticator).

A connector subclasses it, declares ``endpoints`` and, when the upstream needs one, ``build_auth``.
Scans follow the paginator to the end; ``get_many`` and ``find_related`` send one request per chunk of
the batch (chunks run concurrently, within the client's concurrency limit), never one per key.
"""

from __future__ import annotations

import asyncio
import functools
import string
import time
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ..adapter import Adapter, ConfigT
from ..errors import AdapterConfigError, AdapterError, MalformedResponseError, UnsupportedEntityError
from ..health import Health
from ..mapping import EntityMapping
from ..models import CanonicalRecord, Entity
from ..types import ExternalId, RawRecord
from .endpoint import BatchLookup, Endpoint
from .http import PageRequest, PageResponse, RetryPolicy, UpstreamClient
from .paginators import Paginator, SinglePage

T = TypeVar("T")


class HttpSettings(BaseModel):
    """Client behaviour every REST source can tune from its config."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float = Field(10.0, gt=0)
    connect_timeout_seconds: float | None = Field(None, gt=0)
    max_attempts: int = Field(3, ge=1, le=20)
    max_retry_wait_seconds: float = Field(30.0, ge=0)
    max_pages: int = Field(10_000, ge=1)
    max_concurrency: int = Field(8, ge=1, le=256)
    headers: dict[str, str] = Field(default_factory=dict)


class RESTConfig(HttpSettings):
    """Base config of a REST adapter; subclasses add their credentials (as ``SecretStr``) and ids."""

    base_url: str

    @field_validator("base_url")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        return check_base_url(value)


def check_base_url(value: str) -> str:
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        raise ValueError("is not a valid URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("must be an absolute http(s) URL such as https://api.example.com/v2")
    if url.query:
        raise ValueError("must not carry a query string; declare parameters on the endpoints")
    return value


async def _all(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """Like ``gather``, but the first failure cancels the rest and propagates as itself (no group)."""
    tasks = [asyncio.ensure_future(item) for item in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


@functools.lru_cache(maxsize=256)
def _template(path: str) -> tuple[tuple[str, str | None], ...]:
    """``path``'s literal parts and placeholder names; an adapter renders the same few paths on every call."""
    return tuple((literal, name) for literal, name, _spec, _conversion in string.Formatter().parse(path))


def _chunks(values: Sequence[str], size: int) -> list[Sequence[str]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


def _field_values(record: CanonicalRecord, dotted: str) -> list[str]:
    value: Any = record
    for part in dotted.split("."):
        value = getattr(value, part, None)
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return [str(item) for item in value]
    return [str(value)]


class RESTAdapter(Adapter[ConfigT]):
    """Base of adapters for JSON-over-HTTP upstreams.

    Subclasses set ``endpoints`` (per entity) and may override ``build_auth``, ``check_path`` and the
    ``build_*_request`` hooks. The config is a ``RESTConfig`` subclass unless ``base_url``,
    ``http_settings`` and ``path_values`` are overridden.
    """

    endpoints: Mapping[Entity, Endpoint]
    #: A cheap path for ``check()``; by default the first page of the first endpoint.
    check_path: str | None = None

    def __init__(
        self, *, source: str, config: ConfigT, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(source=source, config=config)
        if not getattr(self, "endpoints", None):
            raise TypeError(f"{type(self).__name__} must declare endpoints (Entity -> Endpoint)")
        self._mappings = {entity: endpoint.mapping for entity, endpoint in self.endpoints.items()}
        for entity, endpoint in self.endpoints.items():
            if endpoint.mapping.entity != entity:
                mapped = endpoint.mapping.entity.value
                raise AdapterConfigError(f"endpoint declared for {entity.value} maps {mapped}", source=source)
            # Fail at start-up, not on the first request: placeholders the config cannot fill, paginators
            # that cannot shape this endpoint's requests.
            for path in (endpoint.path, *(lookup.path for lookup in self._lookups(endpoint))):
                if path is not None:
                    self.render_path(path)
            try:
                endpoint.paginator.first_request(self.build_scan_request(entity))
            except (ValueError, KeyError, TypeError) as exc:
                raise AdapterConfigError(
                    f"the paginator of {entity.value} cannot shape its requests: {exc}", source=source
                ) from None
        settings = self.http_settings()
        self.http = UpstreamClient(
            self.base_url(),
            source=source,
            auth=self.build_auth(),
            timeout_seconds=settings.timeout_seconds,
            connect_timeout_seconds=settings.connect_timeout_seconds,
            retry=RetryPolicy(settings.max_attempts, settings.max_retry_wait_seconds),
            headers=settings.headers,
            max_concurrency=settings.max_concurrency,
            transport=transport,
        )
        self._origin = httpx.URL(self.http.base_url)

    # -- configuration hooks ------------------------------------------------------------------------

    def base_url(self) -> str:
        if isinstance(self.config, RESTConfig):
            return self.config.base_url
        raise NotImplementedError(f"{type(self).__name__} must override base_url()")

    def http_settings(self) -> HttpSettings:
        return self.config if isinstance(self.config, HttpSettings) else HttpSettings()

    def build_auth(self) -> httpx.Auth | None:
        """The authenticator of every request; ``None`` for open upstreams."""
        return None

    def path_values(self) -> Mapping[str, Any]:
        """Values for ``{placeholders}`` in endpoint paths: the config's fields by default."""
        return {name: getattr(self.config, name) for name in type(self.config).model_fields}

    def render_path(self, path: str) -> str:
        """``path`` with its ``{placeholders}`` filled from ``path_values()`` (URL-quoted)."""
        values = self.path_values()
        rendered: list[str] = []
        for literal, name in _template(path):
            rendered.append(literal)
            if name is None:
                continue
            value = values.get(name)
            if value is None or name == "":
                raise AdapterConfigError(
                    f"path {path!r} needs {{{name}}}, which the config does not provide", source=self.source
                )
            if isinstance(value, SecretStr):
                raise AdapterConfigError(
                    f"path {path!r} names {{{name}}}, a secret: secrets never go into URLs",
                    source=self.source,
                )
            rendered.append(quote(str(value), safe=""))
        return "".join(rendered)

    # -- declarations -------------------------------------------------------------------------------

    @property
    def mappings(self) -> Mapping[Entity, EntityMapping]:
        return self._mappings

    def endpoint(self, entity: Entity) -> Endpoint:
        self.mapping_for(entity)
        return self.endpoints[entity]

    @staticmethod
    def _lookups(endpoint: Endpoint) -> list[BatchLookup]:
        return [*([endpoint.get_many] if endpoint.get_many else []), *endpoint.related.values()]

    def chunk_size(self, entity: Entity, by_field: str | None = None) -> int | None:
        """Values per upstream request for ``get_many`` (``by_field=None``) or ``find_related``."""
        endpoint = self.endpoints.get(entity)
        if endpoint is None:
            return None
        lookup = endpoint.get_many if by_field is None else endpoint.related.get(by_field)
        return lookup.chunk_size if lookup else None

    @property
    def requests_sent(self) -> int:
        return self.http.requests_sent

    @property
    def upstream_calls(self) -> int:
        return self.http.requests_sent

    # -- request builders (override for upstreams the declarations cannot describe) ----------------

    def build_scan_request(self, entity: Entity, since: datetime | None = None) -> PageRequest:
        endpoint = self.endpoint(entity)
        request = endpoint.base_request(self.render_path(endpoint.path))
        if since is not None and endpoint.since_param:
            request = request.with_params(**{endpoint.since_param: since.isoformat()})
        return request

    def _lookup_request(self, entity: Entity, lookup: BatchLookup, values: Sequence[str]) -> PageRequest:
        endpoint = self.endpoint(entity)
        if lookup.path is not None:
            base = PageRequest(self.render_path(lookup.path), dict(lookup.params))
        else:
            base = endpoint.base_request(self.render_path(endpoint.path)).with_params(**lookup.params)
        return lookup.build(base, values)

    def build_get_many_request(self, entity: Entity, keys: Sequence[ExternalId]) -> PageRequest:
        lookup = self.endpoint(entity).get_many
        if lookup is None:
            raise UnsupportedEntityError(
                f"declares no batch lookup by key for {entity.value}", source=self.source, entity=entity.value
            )
        return self._lookup_request(entity, lookup, keys)

    def build_related_request(self, entity: Entity, by_field: str, values: Sequence[str]) -> PageRequest:
        lookup = self.endpoint(entity).related.get(by_field)
        if lookup is None:
            raise UnsupportedEntityError(
                f"declares no batch lookup of {entity.value} by {by_field!r}",
                source=self.source,
                entity=entity.value,
            )
        return self._lookup_request(entity, lookup, values)

    def extract_records(self, entity: Entity, response: PageResponse) -> list[RawRecord]:
        try:
            return self.endpoint(entity).extract_records(response.body)
        except MalformedResponseError as exc:
            exc.source = self.source
            raise

    def extract_lookup_records(
        self, entity: Entity, response: PageResponse, record_path: str
    ) -> list[RawRecord]:
        """The records of a batch lookup's answer, for lookups that declare their own ``record_path``."""
        try:
            return replace(self.endpoint(entity), record_path=record_path).extract_records(response.body)
        except MalformedResponseError as exc:
            exc.source = self.source
            raise

    # -- reading ------------------------------------------------------------------------------------

    async def pages(
        self,
        entity: Entity,
        request: PageRequest,
        *,
        paginator: Paginator | None = None,
        record_path: str | None = None,
    ) -> AsyncIterator[list[RawRecord]]:
        """The raw records of each page, from ``request`` on, following ``paginator`` (by default the
        endpoint's) until it finds no next page; ``record_path`` overrides the endpoint's (lookups)."""
        endpoint = self.endpoint(entity)
        paginator = paginator or endpoint.paginator
        limit = endpoint.max_pages or self.http_settings().max_pages
        seen: set[str] = set()
        current: PageRequest | None = paginator.first_request(request)
        while current is not None:
            self._guard(entity, current, seen)
            response = await self.http.send(current, entity=entity.value)
            records = (
                self.extract_records(entity, response)
                if record_path is None
                else self.extract_lookup_records(entity, response, record_path)
            )
            yield records
            current = paginator.next_request(current, response, len(records))
            if current is not None and len(seen) >= limit:
                raise MalformedResponseError(
                    f"the paginator did not stop after {limit} pages", source=self.source, entity=entity.value
                )

    def _guard(self, entity: Entity, request: PageRequest, seen: set[str]) -> None:
        fingerprint = request.fingerprint()
        if fingerprint in seen:
            raise MalformedResponseError(
                "the paginator asked for a page it already read (a repeated cursor or next link)",
                source=self.source,
                entity=entity.value,
            )
        seen.add(fingerprint)
        if _is_path(request.url):
            return  # a path stays on the base URL's host
        target = self.http.absolute_url(request.url)
        if (target.scheme, target.host, target.port) != (
            self._origin.scheme,
            self._origin.host,
            self._origin.port,
        ):
            # Following it would hand our credentials to another host.
            raise MalformedResponseError(
                f"the upstream points the next page at another host ({target.host})",
                source=self.source,
                entity=entity.value,
            )

    async def _collect(
        self, entity: Entity, request: PageRequest, lookup: BatchLookup | None
    ) -> list[CanonicalRecord]:
        mapping = self.endpoint(entity).mapping
        paginator = lookup.paginator if lookup else None
        # Only a lookup that declares its own record path passes one: ``pages`` overrides written before
        # the keyword existed keep working for every other lookup.
        record_path = lookup.record_path if lookup else None
        pages = (
            self.pages(entity, request, paginator=paginator)
            if record_path is None
            else self.pages(entity, request, paginator=paginator, record_path=record_path)
        )
        return [mapping.build(self.source, raw) async for page in pages for raw in page]

    async def scan(self, entity: Entity, since: datetime | None = None) -> AsyncIterator[CanonicalRecord]:
        mapping = self.endpoint(entity).mapping
        async for page in self.pages(entity, self.build_scan_request(entity, since)):
            for raw in page:
                record = mapping.build(self.source, raw)
                # Upstreams without a "since" filter send everything; narrow it here.
                if since is not None and record.updated_at is not None and record.updated_at <= since:
                    continue
                yield record

    async def get_many(self, entity: Entity, keys: Sequence[ExternalId]) -> list[CanonicalRecord | None]:
        endpoint = self.endpoint(entity)
        if not keys:
            return []
        lookup = endpoint.get_many
        unique = [key for key in dict.fromkeys(str(key) for key in keys) if not lookup or lookup.accepts(key)]
        if not unique:
            return [None] * len(keys)
        size = lookup.chunk_size if lookup else len(unique)
        requests = [self.build_get_many_request(entity, chunk) for chunk in _chunks(unique, size)]
        found: dict[str, CanonicalRecord] = {}
        for records in await _all(self._collect(entity, request, lookup) for request in requests):
            for record in records:
                found.setdefault(record.external_id, record)
        return [found.get(str(key)) for key in keys]

    async def find_related(
        self, entity: Entity, by_field: str, values: Sequence[str]
    ) -> list[list[CanonicalRecord]]:
        self.mapping_for(entity, by_field)
        if not values:
            return []
        lookup = self.endpoint(entity).related.get(by_field)
        unique = [v for v in dict.fromkeys(str(value) for value in values) if not lookup or lookup.accepts(v)]
        if not unique:
            return [[] for _ in values]
        size = lookup.chunk_size if lookup else len(unique)
        requests = [self.build_related_request(entity, by_field, chunk) for chunk in _chunks(unique, size)]
        grouped: dict[str, dict[str, CanonicalRecord]] = {}
        for records in await _all(self._collect(entity, request, lookup) for request in requests):
            for record in records:
                for value in _field_values(record, by_field):
                    grouped.setdefault(value, {}).setdefault(record.external_id, record)
        return [list(grouped.get(str(value), {}).values()) for value in values]

    async def check(self) -> Health:
        started = time.perf_counter()
        try:
            if self.check_path is not None:
                await self.http.send(PageRequest(self.render_path(self.check_path)))
            elif self.endpoints:
                entity = next(iter(self.endpoints))
                first = self.endpoint(entity).paginator.first_request(self.build_scan_request(entity))
                async for _page in self.pages(entity, first, paginator=SinglePage()):
                    pass
        except AdapterError as exc:
            return Health(ok=False, latency_ms=_elapsed_ms(started), detail=f"{exc.code}: {exc.message}")
        except Exception as exc:  # check() never raises, whatever a subclass hook does
            detail = f"check failed: {type(exc).__name__}"
            return Health(ok=False, latency_ms=_elapsed_ms(started), detail=detail)
        return Health(ok=True, latency_ms=_elapsed_ms(started))

    async def aclose(self) -> None:
        await self.http.aclose()


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _is_path(url: str) -> bool:
    """Whether ``url`` is a plain path (no scheme, no host), the shape of every configured endpoint."""
    return not url.startswith("//") and (url.startswith("/") or ":" not in url)
