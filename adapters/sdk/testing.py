"""The adapter conformance kit: the checks every adapter must pass, as a pytest class to subclass.

In a test module of the adapter's package::

    from adapters.sdk.testing import AdapterConformance, ConformanceExpectations

    @pytest.fixture
    async def my_adapter():                  # a ready adapter connected to a running upstream
        adapter = MyAdapter.from_config(source="mine", config={...})
        yield adapter
        await adapter.aclose()

    class TestMyAdapter(AdapterConformance, fixture="my_adapter"):
        pass

The checks share one bounded sample scan per adapter object, so a module- or class-scoped fixture makes
the class faster; the batching checks measure differences of ``upstream_calls``, so sharing is safe.

Optional class keywords: ``expectations=ConformanceExpectations(...)`` (or ``expectations_fixture=`` naming
a fixture that returns one) for sample-data expectations; ``unreachable_fixture=`` naming a fixture that
yields the same adapter pointed at an upstream that refuses connections (e.g. a closed port), and
``slow_fixture=`` one pointed at an upstream that never answers, with a short configured timeout. Without
them the error-mapping and timeout checks are skipped with a reason.

The kit discovers the entities from ``adapter.mappings`` and the relations from each mapping. It proves
batching through ``adapter.upstream_calls``; the chunk size of a lookup comes from the adapter's
``chunk_size(entity, by_field)`` method when it has one (``ReportsChunkSize``), else from the
expectations, else the whole batch must cost one call.
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import pytest
from pydantic import BaseModel, SecretStr

from .adapter import Adapter
from .asgi_server import serve_asgi as serve_asgi  # re-exported for adapter authors
from .errors import (
    AdapterConfigError,
    UnsupportedEntityError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from .models import MODELS, CanonicalRecord, Entity

T = TypeVar("T")

#: Errors an adapter may raise when its upstream is down (a refused connection may surface either way).
UPSTREAM_DOWN_ERRORS = (UpstreamUnavailableError, UpstreamTimeoutError)


@runtime_checkable
class ReportsChunkSize(Protocol):
    """An adapter that says how many keys or values it sends upstream per call."""

    def chunk_size(self, entity: Entity, by_field: str | None = None) -> int | None: ...


@dataclass(frozen=True)
class ConformanceExpectations:
    """What the sample data behind the fixture should show. Every field is optional."""

    #: Minimum records a bounded scan must find per entity; ``default_min_records`` for the others.
    min_records: Mapping[Entity, int] = field(default_factory=dict)
    default_min_records: int = 1
    #: Exact record count of a full scan, per entity.
    total_records: Mapping[Entity, int] = field(default_factory=dict)
    #: Keys that must exist upstream, per entity.
    known_keys: Mapping[Entity, Sequence[str]] = field(default_factory=dict)
    #: Chunk sizes for adapters that do not report them, keyed by (entity, relation or None for get_many).
    chunk_sizes: Mapping[tuple[Entity, str | None], int] = field(default_factory=dict)
    #: Upstream calls one chunk may cost (more than 1 when a lookup's answer spans several pages).
    max_calls_per_chunk: int = 1
    unknown_key: str = "crmhub-conformance-no-such-key"
    scan_limit: int = 200
    batch_size: int = 25
    scan_timeout_seconds: float = 60.0
    call_timeout_seconds: float = 30.0
    #: How long a call against a never-answering upstream may take before ``UpstreamTimeoutError``.
    timeout_budget_seconds: float = 5.0


_samples: weakref.WeakKeyDictionary[Adapter[Any], dict[Entity, list[CanonicalRecord]]] = (
    weakref.WeakKeyDictionary()
)


def _secrets(model: BaseModel) -> list[str]:
    """Every secret value in a config, to prove no error message repeats one."""
    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        values = value.values() if isinstance(value, Mapping) else [value]
        for item in values:
            if isinstance(item, SecretStr) and len(item.get_secret_value()) >= 4:
                found.append(item.get_secret_value())
            elif isinstance(item, BaseModel):
                found.extend(_secrets(item))
    return found


class AdapterConformance:
    """Subclass as ``class TestX(AdapterConformance, fixture="x"): pass`` (see the module docstring)."""

    adapter_fixture: ClassVar[str]
    expectations: ClassVar[ConformanceExpectations] = ConformanceExpectations()
    expectations_fixture: ClassVar[str | None] = None
    unreachable_fixture: ClassVar[str | None] = None
    slow_fixture: ClassVar[str | None] = None

    def __init_subclass__(
        cls,
        *,
        fixture: str | None = None,
        expectations: ConformanceExpectations | None = None,
        expectations_fixture: str | None = None,
        unreachable_fixture: str | None = None,
        slow_fixture: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        if fixture is not None:
            cls.adapter_fixture = fixture
        if not getattr(cls, "adapter_fixture", None):
            raise TypeError(
                f"{cls.__name__}: name the fixture that yields the adapter, "
                f'e.g. class {cls.__name__}(AdapterConformance, fixture="my_adapter")'
            )
        if expectations is not None:
            cls.expectations = expectations
        if expectations_fixture is not None:
            cls.expectations_fixture = expectations_fixture
        if unreachable_fixture is not None:
            cls.unreachable_fixture = unreachable_fixture
        if slow_fixture is not None:
            cls.slow_fixture = slow_fixture

    # -- fixtures -----------------------------------------------------------------------------------

    @staticmethod
    def _adapter_from(request: pytest.FixtureRequest, name: str) -> Adapter[Any]:
        adapter = request.getfixturevalue(name)
        if not isinstance(adapter, Adapter):
            pytest.fail(f"fixture {name!r} must yield an adapters.sdk.Adapter, got {type(adapter).__name__}")
        return adapter

    @pytest.fixture
    def conformance_adapter(self, request: pytest.FixtureRequest) -> Adapter[Any]:
        return self._adapter_from(request, self.adapter_fixture)

    @pytest.fixture
    def conformance_unreachable(self, request: pytest.FixtureRequest) -> Adapter[Any] | None:
        name = self.unreachable_fixture
        return None if name is None else self._adapter_from(request, name)

    @pytest.fixture
    def conformance_slow(self, request: pytest.FixtureRequest) -> Adapter[Any] | None:
        name = self.slow_fixture
        return None if name is None else self._adapter_from(request, name)

    @pytest.fixture
    def conformance_expectations(self, request: pytest.FixtureRequest) -> ConformanceExpectations:
        if self.expectations_fixture is None:
            return self.expectations
        value = request.getfixturevalue(self.expectations_fixture)
        if not isinstance(value, ConformanceExpectations):
            pytest.fail(f"fixture {self.expectations_fixture!r} must return ConformanceExpectations")
        return value

    # -- helpers ------------------------------------------------------------------------------------

    @staticmethod
    async def _within(seconds: float, call: Awaitable[T], what: str) -> T:
        try:
            return await asyncio.wait_for(call, seconds)
        except TimeoutError:
            pytest.fail(f"{what} did not finish within {seconds:.0f}s")

    async def _sample(
        self, adapter: Adapter[Any], entity: Entity, expect: ConformanceExpectations
    ) -> list[CanonicalRecord]:
        """Up to ``scan_limit`` records of ``entity``, read once per adapter and shared by the checks."""
        cached = _samples.setdefault(adapter, {})
        if entity not in cached:

            async def bounded() -> list[CanonicalRecord]:
                records: list[CanonicalRecord] = []
                async for record in adapter.scan(entity):
                    records.append(record)
                    if len(records) >= expect.scan_limit:
                        break
                return records

            cached[entity] = await self._within(
                expect.scan_timeout_seconds, bounded(), f"scan of {entity.value}"
            )
        return cached[entity]

    @staticmethod
    def _chunk(
        adapter: Adapter[Any], entity: Entity, by_field: str | None, expect: ConformanceExpectations
    ) -> int:
        if isinstance(adapter, ReportsChunkSize):
            size = adapter.chunk_size(entity, by_field)
            if size:
                return size
        return expect.chunk_sizes.get((entity, by_field), 10**9)

    @staticmethod
    def _require_counter(adapter: Adapter[Any]) -> None:
        if type(adapter).upstream_calls is Adapter.upstream_calls:
            pytest.fail(
                f"{type(adapter).__name__} does not count its upstream calls: override the upstream_calls "
                "property so batching can be proved"
            )

    # -- checks -------------------------------------------------------------------------------------

    async def test_config_round_trips(self, conformance_adapter: Adapter[Any]) -> None:
        adapter = conformance_adapter
        cls = type(adapter)
        clone = cls.from_config(source=adapter.source, config=adapter.config.model_dump())
        try:
            assert clone.config == adapter.config, "the config changed on its way through from_config"
            assert set(clone.mappings) == set(adapter.mappings), "a rebuilt adapter declares other entities"
        finally:
            await clone.aclose()
        required = [name for name, info in cls.config_model.model_fields.items() if info.is_required()]
        if required:
            with pytest.raises(AdapterConfigError) as caught:
                cls.from_config(source=adapter.source, config={})
            assert any(name in caught.value.message for name in required), (
                f"the error for an empty config does not name a missing field: {caught.value.message!r}"
            )

    async def test_declares_entities(self, conformance_adapter: Adapter[Any]) -> None:
        mappings = conformance_adapter.mappings
        assert mappings, "the adapter declares no entity"
        for entity, mapping in mappings.items():
            assert mapping.entity is entity, f"the mapping declared for {entity.value} maps {mapping.entity}"

    async def test_check_passes(
        self, conformance_adapter: Adapter[Any], conformance_expectations: ConformanceExpectations
    ) -> None:
        health = await self._within(
            conformance_expectations.call_timeout_seconds, conformance_adapter.check(), "check()"
        )
        assert health.ok, f"check() reports the upstream unhealthy: {health.detail}"
        assert health.latency_ms >= 0

    async def test_records_validate(
        self, conformance_adapter: Adapter[Any], conformance_expectations: ConformanceExpectations
    ) -> None:
        adapter, expect = conformance_adapter, conformance_expectations
        for entity in adapter.mappings:
            records = await self._sample(adapter, entity, expect)
            wanted = expect.min_records.get(entity, expect.default_min_records)
            assert len(records) >= min(wanted, expect.scan_limit), (
                f"a scan of {entity.value} found {len(records)} record(s), expected at least {wanted}"
            )
            model = MODELS[entity]
            for record in records:
                assert isinstance(record, model), f"{entity.value} scan yielded a {type(record).__name__}"
                assert record.entity is entity and record.source == adapter.source, (
                    f"{entity.value} record {record.external_id!r} is labelled "
                    f"{record.entity}/{record.source}"
                )
                assert record.external_id, f"a {entity.value} record has an empty external_id"
                assert model.model_validate(record.model_dump()) == record, (
                    f"{entity.value} record {record.external_id!r} does not survive re-validation"
                )

    async def test_keys_unique_within_scan(
        self, conformance_adapter: Adapter[Any], conformance_expectations: ConformanceExpectations
    ) -> None:
        for entity in conformance_adapter.mappings:
            keys = [
                r.external_id
                for r in await self._sample(conformance_adapter, entity, conformance_expectations)
            ]
            repeated = sorted({key for key in keys if keys.count(key) > 1})
            assert not repeated, f"a scan of {entity.value} yields these keys more than once: {repeated[:10]}"

    async def test_pagination_terminates(
        self, conformance_adapter: Adapter[Any], conformance_expectations: ConformanceExpectations
    ) -> None:
        adapter, expect = conformance_adapter, conformance_expectations
        for entity in adapter.mappings:

            async def full_scan(entity: Entity = entity) -> list[str]:
                return [record.external_id async for record in adapter.scan(entity)]

            keys = await self._within(
                expect.scan_timeout_seconds, full_scan(), f"a full scan of {entity.value}"
            )
            assert len(keys) == len(set(keys)), f"a full scan of {entity.value} repeats keys (pages overlap)"
            if entity in expect.total_records:
                assert len(keys) == expect.total_records[entity], (
                    f"a full scan of {entity.value} found {len(keys)} records, "
                    f"expected {expect.total_records[entity]}"
                )
            for key in expect.known_keys.get(entity, ()):
                assert key in keys, f"a full scan of {entity.value} misses known key {key!r}"

    async def _keys(
        self, adapter: Adapter[Any], entity: Entity, expect: ConformanceExpectations
    ) -> list[str]:
        known = [*expect.known_keys.get(entity, ())]
        sampled = [record.external_id for record in await self._sample(adapter, entity, expect)]
        return list(dict.fromkeys(known + sampled))

    async def test_get_many_keeps_order(
        self, conformance_adapter: Adapter[Any], conformance_expectations: ConformanceExpectations
    ) -> None:
        adapter, expect = conformance_adapter, conformance_expectations
        tried = False
        for entity in adapter.mappings:
            keys = list(reversed((await self._keys(adapter, entity, expect))[: expect.batch_size]))
            if not keys:
                continue
            tried = True
            found = await self._within(
                expect.call_timeout_seconds, adapter.get_many(entity, keys), "get_many"
            )
            assert len(found) == len(keys), (
                f"get_many({entity.value}) answered {len(found)} for {len(keys)} keys"
            )
            got = [record.external_id if record else None for record in found]
            assert got == keys, (
                f"get_many({entity.value}) does not keep the order of the keys: {got} != {keys}"
            )
            assert await adapter.get_many(entity, []) == [], f"get_many({entity.value}, []) must be []"
        if not tried:
            pytest.skip("no entity has sample records to look up")

    async def test_get_many_handles_duplicates(
        self, conformance_adapter: Adapter[Any], conformance_expectations: ConformanceExpectations
    ) -> None:
        adapter, expect = conformance_adapter, conformance_expectations
        for entity in adapter.mappings:
            keys = (await self._keys(adapter, entity, expect))[:2]
            if not keys:
                continue
            batch = [keys[0], keys[-1], keys[0], keys[0]]
            found = await self._within(
                expect.call_timeout_seconds, adapter.get_many(entity, batch), "get_many"
            )
            got = [record.external_id if record else None for record in found]
            assert got == batch, f"get_many({entity.value}) mishandles repeated keys: {got} != {batch}"

    async def test_get_many_unknown_keys_are_none(
        self, conformance_adapter: Adapter[Any], conformance_expectations: ConformanceExpectations
    ) -> None:
        adapter, expect = conformance_adapter, conformance_expectations
        for entity in adapter.mappings:
            keys = (await self._keys(adapter, entity, expect))[:1]
            batch = [expect.unknown_key, *keys, expect.unknown_key + "-2"]
            found = await self._within(
                expect.call_timeout_seconds, adapter.get_many(entity, batch), "get_many"
            )
            got = [record.external_id if record else None for record in found]
            assert got == [None, *keys, None], f"get_many({entity.value}) with unknown keys answered {got}"

    async def test_get_many_is_batched(
        self, conformance_adapter: Adapter[Any], conformance_expectations: ConformanceExpectations
    ) -> None:
        adapter, expect = conformance_adapter, conformance_expectations
        self._require_counter(adapter)
        for entity in adapter.mappings:
            keys = (await self._keys(adapter, entity, expect))[: expect.batch_size]
            if not keys:
                continue
            keys = [*keys, expect.unknown_key]
            chunk = self._chunk(adapter, entity, None, expect)
            allowed = math.ceil(len(keys) / chunk) * expect.max_calls_per_chunk
            before = adapter.upstream_calls
            await self._within(expect.call_timeout_seconds, adapter.get_many(entity, keys), "get_many")
            spent = adapter.upstream_calls - before
            assert 0 < spent <= allowed, (
                f"get_many({entity.value}) of {len(keys)} keys cost {spent} upstream calls; "
                f"chunks of {min(chunk, len(keys))} allow {allowed}"
            )

    async def test_find_related_is_batched(
        self, conformance_adapter: Adapter[Any], conformance_expectations: ConformanceExpectations
    ) -> None:
        adapter, expect = conformance_adapter, conformance_expectations
        self._require_counter(adapter)
        tried = False
        for entity, mapping in adapter.mappings.items():
            sample = await self._sample(adapter, entity, expect)
            for by_field in sorted(mapping.relations):
                by_value: dict[str, set[str]] = {}
                for record in sample:
                    for value in _values_of(record, by_field):
                        by_value.setdefault(value, set()).add(record.external_id)
                values = [*list(by_value)[: expect.batch_size], expect.unknown_key]
                if len(values) == 1:
                    continue
                tried = True
                chunk = self._chunk(adapter, entity, by_field, expect)
                allowed = math.ceil(len(values) / chunk) * expect.max_calls_per_chunk
                before = adapter.upstream_calls
                found = await self._within(
                    expect.call_timeout_seconds,
                    adapter.find_related(entity, by_field, values),
                    "find_related",
                )
                spent = adapter.upstream_calls - before
                what = f"find_related({entity.value}, {by_field!r}) of {len(values)} values"
                assert 0 < spent <= allowed, f"{what} cost {spent} upstream calls; allowed {allowed}"
                assert len(found) == len(values), f"{what} answered {len(found)} lists"
                for value, records in zip(values, found, strict=True):
                    for record in records:
                        assert value in _values_of(record, by_field), (
                            f"{what}: {record.external_id!r} is listed under {value!r} but has "
                            f"{by_field}={getattr(record, by_field, None)!r}"
                        )
                    missing = by_value.get(value, set()) - {record.external_id for record in records}
                    assert not missing, f"{what}: records {sorted(missing)[:5]} are missing under {value!r}"
                assert found[-1] == [], f"{what}: an unknown value must give an empty list"
        if not tried:
            pytest.skip("no declared relation has sample values to look up")

    async def test_unsupported_lookups_raise(self, conformance_adapter: Adapter[Any]) -> None:
        adapter = conformance_adapter
        for entity, mapping in adapter.mappings.items():
            with pytest.raises(UnsupportedEntityError):
                await adapter.find_related(entity, "crmhub_conformance_not_a_relation", ["1"])
            assert mapping.relations == adapter.relations(entity)
        undeclared = [entity for entity in Entity if entity not in adapter.mappings]
        if undeclared:
            with pytest.raises(UnsupportedEntityError):
                await adapter.get_many(undeclared[0], ["1"])

    async def test_upstream_errors_map_to_sdk_types(
        self, conformance_unreachable: Adapter[Any] | None, conformance_expectations: ConformanceExpectations
    ) -> None:
        down = conformance_unreachable
        if down is None:
            pytest.skip("declare unreachable_fixture= to check how upstream failures surface")
        expect = conformance_expectations
        health = await self._within(expect.call_timeout_seconds, down.check(), "check() of a down upstream")
        assert not health.ok, "check() reports a down upstream as healthy"
        secrets = _secrets(down.config)
        for entity, mapping in down.mappings.items():
            calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                ("get_many", partial(down.get_many, entity, ["1"])),
                ("scan", partial(_first, down, entity)),
            ]
            calls += [
                (f"find_related by {by}", partial(down.find_related, entity, by, ["1"]))
                for by in sorted(mapping.relations)
            ]
            for what, call in calls:
                with pytest.raises(Exception) as caught:
                    await self._within(expect.call_timeout_seconds, call(), what)
                error = caught.value
                assert isinstance(error, UPSTREAM_DOWN_ERRORS), (
                    f"{what}({entity.value}) against a down upstream raised {type(error).__name__}, "
                    "not one of the SDK's upstream errors"
                )
                assert error.source == down.source, (
                    f"{what}({entity.value}): the error does not name the source"
                )
                leaked = [secret for secret in secrets if secret in str(error)]
                assert not leaked, f"{what}({entity.value}): the error message shows a configured secret"

    async def test_timeouts_respected(
        self, conformance_slow: Adapter[Any] | None, conformance_expectations: ConformanceExpectations
    ) -> None:
        slow = conformance_slow
        if slow is None:
            pytest.skip("declare slow_fixture= to check that timeouts are respected")
        budget = conformance_expectations.timeout_budget_seconds
        entity = next(iter(slow.mappings))
        started = time.perf_counter()
        with pytest.raises(UpstreamTimeoutError):
            await self._within(budget * 3, slow.get_many(entity, ["1"]), "get_many against a silent upstream")
        elapsed = time.perf_counter() - started
        assert elapsed <= budget, f"get_many gave up after {elapsed:.1f}s, beyond the {budget:.1f}s budget"
        health = await self._within(budget * 3, slow.check(), "check() against a silent upstream")
        assert not health.ok, "check() reports a silent upstream as healthy"


def _values_of(record: CanonicalRecord, by_field: str) -> list[str]:
    """A relation field's values as text; list fields (``invoice_external_ids``) hold several."""
    value = getattr(record, by_field, None)
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return [str(item) for item in value]
    return [str(value)]


async def _first(adapter: Adapter[Any], entity: Entity) -> CanonicalRecord | None:
    async for record in adapter.scan(entity):
        return record
    return None
