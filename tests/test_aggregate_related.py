"""``Adapter.aggregate_related``: the SDK default (find_related + Python) and the SQL adapter's push-down,
which must agree with it while sending one ``GROUP BY`` statement per chunk, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from adapters.sdk import (
    Adapter,
    Aggregate,
    CanonicalRecord,
    CreditTerms,
    Entity,
    EntityMapping,
    Health,
    Measure,
    Order,
    UnsupportedEntityError,
)
from adapters.sql import SQLAdapter
from silos.erp.database import write_database
from silos.erp.generator import ErpGenerator

from .support.servers import fresh_pg_database
from .support.sql_erp import ENTITIES, load_postgres, load_sqlite

ORDER_TOTALS = (Measure.count(), Measure.sum("total"))


class _Config(BaseModel):
    pass


class InMemoryAdapter(Adapter[_Config]):
    """An adapter that only implements the required reads, so ``aggregate_related`` is the SDK default."""

    name = "in-memory"
    config_model = _Config

    def __init__(self, records: Sequence[CanonicalRecord]) -> None:
        super().__init__(source="memory", config=_Config())
        self.records = list(records)
        self.related_calls = 0

    @property
    def mappings(self) -> Mapping[Entity, EntityMapping]:
        return {
            Entity.ORDER: EntityMapping(
                Entity.ORDER,
                {"external_id": "id", "customer_external_id": "c", "currency": "cur", "total": "t"},
                relations=frozenset({"customer_external_id"}),
            ),
            Entity.CREDIT_TERMS: EntityMapping(
                Entity.CREDIT_TERMS,
                {"external_id": "id", "customer_external_id": "c", "payment_terms_days": "d"},
                relations=frozenset({"customer_external_id"}),
            ),
        }

    async def get_many(self, entity: Entity, keys: Sequence[str]) -> list[CanonicalRecord | None]:
        raise NotImplementedError

    async def find_related(
        self, entity: Entity, by_field: str, values: Sequence[str]
    ) -> list[list[CanonicalRecord]]:
        self.mapping_for(entity, by_field)
        self.related_calls += 1
        return [
            [r for r in self.records if r.entity is entity and getattr(r, by_field) == value]
            for value in values
        ]

    def scan(self, entity: Entity, since: datetime | None = None) -> AsyncIterator[CanonicalRecord]:
        raise NotImplementedError

    async def check(self) -> Health:
        return Health(ok=True, latency_ms=0.0)


def _order(key: str, customer: str, currency: str | None, total: str | None) -> Order:
    return Order(
        source="memory",
        external_id=key,
        customer_external_id=customer,
        currency=currency,
        total=Decimal(total) if total is not None else None,
    )


async def test_default_groups_counts_and_sums_from_find_related() -> None:
    adapter = InMemoryAdapter(
        [
            _order("1", "a", "EUR", "10.10"),
            _order("2", "a", "EUR", "0.20"),
            _order("3", "a", "USD", "5"),
            _order("4", "a", None, "1.5"),
            _order("5", "b", "EUR", None),
            CreditTerms(source="memory", external_id="a", customer_external_id="a", payment_terms_days=30),
        ]
    )
    found = await adapter.aggregate_related(
        Entity.ORDER, "customer_external_id", ["a", "b", "nobody", "a"], ORDER_TOTALS, group_by=["currency"]
    )
    assert adapter.related_calls == 1
    a = [
        Aggregate(("EUR",), (2, Decimal("10.30"))),
        Aggregate(("USD",), (1, Decimal("5"))),
        Aggregate((None,), (1, Decimal("1.5"))),  # empty groups sort last
    ]
    assert found == [a, [Aggregate(("EUR",), (1, None))], [], a]
    # without group_by: one aggregate per value; integer fields sum to integers
    ungrouped = await adapter.aggregate_related(
        Entity.ORDER, "customer_external_id", ["a"], [Measure.count()]
    )
    assert ungrouped == [[Aggregate((), (4,))]]
    days = await adapter.aggregate_related(
        Entity.CREDIT_TERMS, "customer_external_id", ["a"], [Measure.sum("payment_terms_days")]
    )
    assert days == [[Aggregate((), (30,))]] and isinstance(days[0][0].values[0], int)


@pytest.mark.parametrize(
    ("by_field", "measures", "group_by", "message"),
    [
        ("customer_external_id", [], (), "at least one measure"),
        ("number", ORDER_TOTALS, (), "cannot look up order by 'number'"),
        ("customer_external_id", ORDER_TOTALS, ["status"], "not mapped"),
        ("customer_external_id", ORDER_TOTALS, ["total"], "only text fields"),
        ("customer_external_id", [Measure.sum("currency")], (), "not a number field"),
        ("customer_external_id", [Measure.sum("ordered_at")], (), "not mapped"),
    ],
)
async def test_default_rejects_what_the_mapping_cannot_serve(
    by_field: str, measures: list[Measure], group_by: Sequence[str], message: str
) -> None:
    adapter = InMemoryAdapter([])
    with pytest.raises(UnsupportedEntityError, match=message) as caught:
        await adapter.aggregate_related(Entity.ORDER, by_field, ["a"], measures, group_by=group_by)
    assert caught.value.source == "memory"
    assert adapter.related_calls == 0


def test_measures_are_checked_when_built() -> None:
    with pytest.raises(ValueError, match="needs the canonical field"):
        Measure.sum("")
    assert Measure.sum("total").label == "sum(total)" and Measure.count().label == "count"


# -- the SQL push-down ----------------------------------------------------------------------------------


def _erp_adapter(url: str, **extra: Any) -> SQLAdapter:
    from silos.erp import MAPPING_PATH

    config = {"url": url, "mapping": str(MAPPING_PATH), **extra}
    return SQLAdapter.from_config(source="erp", config=config)  # type: ignore[return-value]


async def _assert_push_down_matches_default(adapter: SQLAdapter, values: list[str], statements: int) -> None:
    before = adapter.queries_executed
    pushed = await adapter.aggregate_related(
        Entity.ORDER, "customer_external_id", values, ORDER_TOTALS, group_by=["currency"]
    )
    assert adapter.queries_executed - before == statements
    # The SDK default over the same adapter: find_related, then Python.
    expected = await Adapter.aggregate_related(
        adapter, Entity.ORDER, "customer_external_id", values, ORDER_TOTALS, group_by=["currency"]
    )
    assert pushed == expected
    assert sum(group.values[0] for groups in pushed for group in groups) > len(values)  # real orders
    assert pushed[-2:] == [[], []]  # an unknown id and a key that cannot be an integer


async def test_sqlite_push_down_is_one_statement_and_matches_the_default(erp_sqlite: Path) -> None:
    adapter = _erp_adapter(f"sqlite:///{erp_sqlite}")
    try:
        values = [str(i) for i in range(1, 101)] + ["999999", "not-a-number"]
        await _assert_push_down_matches_default(adapter, values, statements=1)
    finally:
        await adapter.aclose()


async def test_push_down_chunks_by_batch_size(erp_sqlite: Path) -> None:
    adapter = _erp_adapter(f"sqlite:///{erp_sqlite}", batch_size=40)
    try:
        values = [str(i) for i in range(1, 101)] + ["999999", "not-a-number"]
        # 101 usable values (the non-number stays a text parameter on SQLite) in chunks of 40
        await _assert_push_down_matches_default(adapter, values, statements=3)
    finally:
        await adapter.aclose()


@pytest.mark.postgres
async def test_postgres_push_down_is_one_statement_and_matches_the_default() -> None:
    async with fresh_pg_database("crmhub_agg") as url:
        await write_database(ErpGenerator(40, seed=3), url)
        adapter = _erp_adapter(url)
        try:
            values = [str(i) for i in range(1, 41)] + ["999999", "not-a-number"]
            await _assert_push_down_matches_default(adapter, values, statements=1)
        finally:
            await adapter.aclose()


async def _constant_currency_checks(adapter: SQLAdapter) -> None:
    # orders of this mapping state no currency: the mapping's constant (EUR) fills it
    found = await adapter.aggregate_related(
        Entity.ORDER, "customer_external_id", ["1", "7", "8"], ORDER_TOTALS, group_by=["currency"]
    )
    expected = await Adapter.aggregate_related(
        adapter, Entity.ORDER, "customer_external_id", ["1", "7", "8"], ORDER_TOTALS, group_by=["currency"]
    )
    assert found == expected
    assert found[0] == [Aggregate(("EUR",), (1, Decimal("1.05")))]
    assert found[1] == [Aggregate(("EUR",), (3, Decimal("7.05") + Decimal("7.15") + Decimal("7.25")))]
    assert found[2] == []  # company 8 has no orders (8 % 4 == 0)


async def test_constant_group_fields_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "small.sqlite"
    load_sqlite(path)
    adapter = SQLAdapter.from_config(source="erp", config={"url": f"sqlite:///{path}", "entities": ENTITIES})
    try:
        await _constant_currency_checks(adapter)  # type: ignore[arg-type]
    finally:
        await adapter.aclose()


@pytest.mark.postgres
async def test_constant_group_fields_on_postgres() -> None:
    async with fresh_pg_database("crmhub_agg") as url:
        await load_postgres(url)
        adapter = SQLAdapter.from_config(source="erp", config={"url": url, "entities": ENTITIES})
        try:
            await _constant_currency_checks(adapter)  # type: ignore[arg-type]
        finally:
            await adapter.aclose()


def test_merging_aggregates_sums_equal_groups_and_sorts_empty_groups_last() -> None:
    from adapters.sdk.aggregate import merge_aggregates

    usd, eur, none = (
        Aggregate(("USD",), (1, Decimal("2"))),
        Aggregate(("EUR",), (2, None)),
        Aggregate((None,), (1, Decimal("1"))),
    )
    assert merge_aggregates([usd, eur]) == [eur, usd]
    assert merge_aggregates([none, usd]) == [usd, none]
    assert merge_aggregates([usd, eur, Aggregate(("EUR",), (3, Decimal("4.5")))]) == [
        Aggregate(("EUR",), (5, Decimal("4.5"))),
        usd,
    ]
    assert merge_aggregates([Aggregate(("A", None), (1,)), Aggregate(("A", "b"), (1,))]) == [
        Aggregate(("A", "b"), (1,)),
        Aggregate(("A", None), (1,)),
    ]
