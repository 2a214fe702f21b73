"""The adapter conformance kit: run on a toolkit adapter against a real server, and shown to fail
adapters that break the contract (an unbatched get_many, a lost order, an untyped error...)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import pytest

from adapters.sdk import Adapter, CanonicalRecord, Entity
from adapters.sdk.testing import AdapterConformance, ConformanceExpectations
from tests.support.adapter_fixtures import closing, failing_adapter_fixtures
from tests.support.helpdesk import DeskAdapter, build_app, desk_adapter
from tests.support.http_server import closed_port, serve_app

TOTALS = {Entity.CUSTOMER: 23, Entity.CONTACT: 57, Entity.TICKET: 40, Entity.PRODUCT: 12, Entity.INVOICE: 30}


@pytest.fixture(scope="module")
async def desk_url() -> AsyncIterator[str]:
    async with serve_app(build_app()) as url:
        yield url


@pytest.fixture
async def desk(desk_url: str) -> AsyncIterator[DeskAdapter]:
    async with closing(desk_adapter(desk_url)) as adapter:
        yield adapter


@pytest.fixture(scope="module")
async def shared_desk(desk_url: str) -> AsyncIterator[DeskAdapter]:
    """One adapter for the whole conformance class, so its checks share one sample scan."""
    async with closing(desk_adapter(desk_url)) as adapter:
        yield adapter


desk_down, desk_silent = failing_adapter_fixtures("desk", desk_adapter)


class TestDeskConformance(
    AdapterConformance,
    fixture="shared_desk",
    unreachable_fixture="desk_down",
    slow_fixture="desk_silent",
    expectations=ConformanceExpectations(
        total_records=TOTALS, known_keys={Entity.CUSTOMER: ["1", "23"], Entity.INVOICE: ["5029"]}
    ),
):
    pass


# -- the kit catches broken adapters --------------------------------------------------------------------


class PerKeyDesk(DeskAdapter):
    async def get_many(self, entity: Entity, keys: Sequence[str]) -> list[CanonicalRecord | None]:
        return [(await super(PerKeyDesk, self).get_many(entity, [key]))[0] for key in keys]


class ReorderingDesk(DeskAdapter):
    async def get_many(self, entity: Entity, keys: Sequence[str]) -> list[CanonicalRecord | None]:
        found = await super().get_many(entity, keys)
        return sorted(found, key=lambda record: record.external_id if record else "")


class DedupingDesk(DeskAdapter):
    async def get_many(self, entity: Entity, keys: Sequence[str]) -> list[CanonicalRecord | None]:
        return await super().get_many(entity, list(dict.fromkeys(keys)))


class RepeatingScanDesk(DeskAdapter):
    async def scan(self, entity: Entity, since: datetime | None = None) -> AsyncIterator[CanonicalRecord]:
        async for record in super().scan(entity, since):
            yield record
            yield record


class UncountedDesk(DeskAdapter):
    upstream_calls = Adapter.upstream_calls  # type: ignore[assignment]


class LumpingDesk(DeskAdapter):
    async def find_related(
        self, entity: Entity, by_field: str, values: Sequence[str]
    ) -> list[list[CanonicalRecord]]:
        grouped = await super().find_related(entity, by_field, values)
        everything = [record for records in grouped for record in records]
        return [everything for _ in values]


class UntypedErrorDesk(DeskAdapter):
    async def get_many(self, entity: Entity, keys: Sequence[str]) -> list[CanonicalRecord | None]:
        try:
            return await super().get_many(entity, keys)
        except Exception as exc:
            raise RuntimeError("connection refused") from exc


@pytest.mark.parametrize(
    ("adapter_class", "check", "complaint"),
    [
        (PerKeyDesk, "test_get_many_is_batched", "cost 24 upstream calls"),
        (ReorderingDesk, "test_get_many_keeps_order", "does not keep the order"),
        (DedupingDesk, "test_get_many_handles_duplicates", "mishandles repeated keys"),
        (RepeatingScanDesk, "test_keys_unique_within_scan", "more than once"),
        (UncountedDesk, "test_find_related_is_batched", "does not count its upstream calls"),
        (LumpingDesk, "test_find_related_is_batched", "is listed under"),
    ],
)
async def test_the_kit_fails_adapters_that_break_the_contract(
    desk_url: str, adapter_class: type[DeskAdapter], check: str, complaint: str
) -> None:
    adapter = adapter_class.from_config(
        source="desk", config={"base_url": desk_url, "token": "desk-token-s3cret"}
    )
    try:
        with pytest.raises((AssertionError, pytest.fail.Exception), match=complaint):
            await getattr(AdapterConformance(), check)(adapter, ConformanceExpectations(batch_size=23))
    finally:
        await adapter.aclose()


async def test_the_kit_fails_untyped_upstream_errors() -> None:
    down = UntypedErrorDesk.from_config(
        source="desk", config={"base_url": f"http://127.0.0.1:{closed_port()}", "token": "x"}
    )
    with pytest.raises(AssertionError, match="raised RuntimeError, not one of the SDK's upstream errors"):
        await AdapterConformance().test_upstream_errors_map_to_sdk_types(down, ConformanceExpectations())
    await down.aclose()


async def test_the_kit_fails_expectations_the_data_does_not_meet(desk: DeskAdapter) -> None:
    expect = ConformanceExpectations(total_records={Entity.PRODUCT: 13})
    with pytest.raises(AssertionError, match="found 12 records, expected 13"):
        await AdapterConformance().test_pagination_terminates(desk, expect)


def test_a_conformance_class_must_name_its_fixture() -> None:
    with pytest.raises(TypeError, match='fixture="my_adapter"'):

        class TestNothing(AdapterConformance):
            pass


async def test_checks_without_failure_fixtures_skip_with_a_reason(desk: Any) -> None:
    with pytest.raises(pytest.skip.Exception, match="unreachable_fixture="):
        await AdapterConformance().test_upstream_errors_map_to_sdk_types(None, ConformanceExpectations())
    with pytest.raises(pytest.skip.Exception, match="slow_fixture="):
        await AdapterConformance().test_timeouts_respected(None, ConformanceExpectations())
