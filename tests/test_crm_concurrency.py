"""Optimistic concurrency on SQLite and PostgreSQL: 50 concurrent updates of one record, each naming the
version it read. Every update applies or is rejected with STALE_VERSION; none is lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hub.crm.errors import StaleVersionError
from hub.crm.services import leads, opportunities
from hub.hub import Hub

from .support.crm import BACKENDS, add_customer, crm_hub, ctx_for

WRITERS = 50


@pytest.fixture(scope="module", params=BACKENDS)
async def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with crm_hub(tmp_path_factory.mktemp("crm-concurrency"), request.param) as running:
        yield running


async def test_fifty_writers_who_read_first_then_update(hub: Hub) -> None:
    lead = (await leads.create_lead(ctx_for(hub), fields={"name": "Contended"})).lead
    initial = lead.version

    async def writer(number: int) -> tuple[int, int | None]:
        ctx = ctx_for(hub, f"writer-{number}")
        read = await leads.get_lead(ctx, lead_id=lead.id)
        assert read is not None
        try:
            updated = await leads.update_lead(
                ctx, lead_id=lead.id, version=read.version, changes={"title": f"title by {number}"}
            )
        except StaleVersionError as exc:
            assert exc.code == "STALE_VERSION" and exc.current_version is not None
            assert exc.current_version > read.version
            return number, None
        return number, updated.version

    results = await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    applied = [(number, version) for number, version in results if version is not None]
    final = await leads.get_lead(ctx_for(hub), lead_id=lead.id)
    assert final is not None
    assert len(applied) >= 1
    assert len(applied) == final.version - initial
    # each applied update produced its own version: none overwrote another unseen
    assert sorted(version for _, version in applied) == list(range(initial + 1, final.version + 1))
    last_writer = max(applied, key=lambda item: item[1])[0]
    assert final.title == f"title by {last_writer}" and final.updated_by == f"writer-{last_writer}"


async def test_fifty_writers_with_the_same_version_one_wins(hub: Hub) -> None:
    await add_customer(hub, "cus_concurrency", "Concurrency Ltd")
    ctx = ctx_for(hub)
    deal = await opportunities.create_opportunity(
        ctx,
        fields={
            "customer_id": "cus_concurrency",
            "name": "Contended deal",
            "amount": "100",
            "currency": "EUR",
            "stage": "Prospecting",
            "close_date": "2030-01-31",
        },
    )

    async def writer(number: int) -> bool:
        try:
            await opportunities.update_opportunity(
                ctx_for(hub, f"writer-{number}"),
                opportunity_id=deal.id,
                version=deal.version,
                changes={"amount": str(100 + number)},
            )
        except StaleVersionError:
            return False
        return True

    outcomes = await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    final = await opportunities.get_opportunity(ctx, opportunity_id=deal.id)
    assert final is not None
    assert sum(outcomes) == 1 == final.version - deal.version
    winner = outcomes.index(True)
    assert final.amount_minor == (100 + winner) * 100 and final.updated_by == f"writer-{winner}"
