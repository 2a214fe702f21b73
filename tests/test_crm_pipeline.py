"""Opportunities, stages, the pipeline report, competitor notes and the call queue on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from hub.crm.errors import NotFoundError, StaleVersionError, ValidationError
from hub.crm.services import activities, competitors, opportunities, pipeline, reps, stages, territories
from hub.hub import Hub

from .support.crm import BACKENDS, add_customer, crm_hub, ctx_for


@pytest.fixture(scope="module", params=BACKENDS)
async def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with crm_hub(tmp_path_factory.mktemp("crm-pipeline"), request.param) as running:
        for number in range(3):
            await add_customer(running, f"cus_pipe_{number}", f"Pipeline Customer {number}")
        yield running


def deal(customer: str, name: str, amount: str, stage: str, close: str, **extra: object) -> dict:
    return {
        "customer_id": customer,
        "name": name,
        "amount": amount,
        "currency": "EUR",
        "stage": stage,
        "close_date": close,
        **extra,
    }


async def test_default_stages_and_probabilities(hub: Hub) -> None:
    listed = [(s.name, s.probability, s.forecast_category) for s in await stages.list_stages(ctx_for(hub))]
    assert listed == [
        ("Prospecting", 10, "Pipeline"),
        ("Qualification", 20, "Pipeline"),
        ("Proposal", 50, "Best Case"),
        ("Negotiation", 75, "Commit"),
        ("Closed Won", 100, "Closed"),
        ("Closed Lost", 0, "Omitted"),
    ]


async def test_stage_changes_bring_probabilities_and_lost_needs_a_reason(hub: Hub) -> None:
    ctx = ctx_for(hub)
    created = await opportunities.create_opportunity(
        ctx, fields=deal("cus_pipe_0", "Stages", "1000", "proposal", "2030-05-01")
    )
    assert (created.stage, created.probability, created.forecast_category) == ("Proposal", 50, "Best Case")
    custom = await opportunities.update_opportunity(
        ctx, opportunity_id=created.id, version=1, changes={"probability": 60}
    )
    assert custom.probability == 60 and custom.stage == "Proposal"
    moved = await opportunities.update_opportunity(
        ctx, opportunity_id=created.id, version=2, changes={"stage": "Negotiation"}
    )
    assert (moved.probability, moved.forecast_category) == (75, "Commit")
    with pytest.raises(ValidationError) as lost:
        await opportunities.update_opportunity(
            ctx, opportunity_id=created.id, version=3, changes={"stage": "Closed Lost"}
        )
    assert lost.value.field == "lostReason"
    with pytest.raises(ValidationError) as unknown:
        await opportunities.update_opportunity(
            ctx, opportunity_id=created.id, version=3, changes={"stage": "Vanished"}
        )
    assert unknown.value.field == "stage"
    with pytest.raises(ValidationError) as empty:
        await opportunities.update_opportunity(
            ctx, opportunity_id=created.id, version=3, changes={"amount": None}
        )
    assert empty.value.field == "amount"
    closed = await opportunities.update_opportunity(
        ctx,
        opportunity_id=created.id,
        version=3,
        changes={"stage": "Closed Lost", "lost_reason": "Budget cut"},
    )
    assert (closed.probability, closed.forecast_category, closed.closed_at is not None) == (
        0,
        "Omitted",
        True,
    )
    with pytest.raises(StaleVersionError):
        await opportunities.update_opportunity(
            ctx, opportunity_id=created.id, version=3, changes={"name": "x"}
        )
    reopened = await opportunities.update_opportunity(
        ctx, opportunity_id=created.id, version=4, changes={"stage": "Qualification"}
    )
    assert (reopened.probability, reopened.lost_reason, reopened.closed_at) == (20, None, None)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (deal("cus_nobody", "x", "1", "Proposal", "2030-01-01"), "customerId"),
        (deal("cus_pipe_0", "x", "1", "Proposal", "2030-13-01"), "closeDate"),
        (deal("cus_pipe_0", "x", "-5", "Proposal", "2030-01-01"), "amount"),
        (deal("cus_pipe_0", "x", "5", "Proposal", "2030-01-01", probability=101), "probability"),
        (
            deal("cus_pipe_0", "x", "5", "Proposal", "2030-01-01", forecast_category="Maybe"),
            "forecastCategory",
        ),
        (deal("cus_pipe_0", "x", "5", "Proposal", "2030-01-01", owner_id="rep_nobody"), "ownerId"),
        ({"customer_id": "cus_pipe_0", "name": "x"}, "amount"),
    ],
)
async def test_bad_opportunities_are_refused(hub: Hub, fields: dict, field: str) -> None:
    with pytest.raises((ValidationError, NotFoundError)) as caught:
        await opportunities.create_opportunity(ctx_for(hub), fields=fields)
    assert caught.value.field == field


async def test_pipeline_groups_and_weighted_sums(hub: Hub) -> None:
    ctx = ctx_for(hub)
    ann = await reps.create_sales_rep(ctx, fields={"name": "Ann Pipeline", "email": "ann@pipe.example.com"})
    north = await territories.create_territory(ctx, fields={"name": "Pipe North", "type": "region"})
    south = await territories.create_territory(ctx, fields={"name": "Pipe South", "type": "region"})
    create = opportunities.create_opportunity
    await create(
        ctx,
        fields=deal(
            "cus_pipe_1", "a", "1000.10", "Prospecting", "2031-01-15", owner_id=ann.id, territory_id=north.id
        ),
    )
    await create(
        ctx,
        fields=deal(
            "cus_pipe_1", "b", "333.33", "Negotiation", "2031-01-31", owner_id=ann.id, territory_id=north.id
        ),
    )
    await create(
        ctx,
        fields=deal(
            "cus_pipe_2", "c", "2000", "Proposal", "2031-02-01", territory_id=south.id, probability=33
        ),
    )
    await create(
        ctx,
        fields={
            **deal("cus_pipe_2", "d", "500", "Proposal", "2031-02-10", territory_id=south.id),
            "currency": "USD",
        },
    )
    await create(
        ctx, fields=deal("cus_pipe_2", "won", "9999", "Closed Won", "2031-01-20", territory_id=north.id)
    )

    by_territory = {
        (g.label, g.currency): g for g in await pipeline.pipeline(ctx, group_by="territory", currency=None)
    }
    north_eur = by_territory[("Pipe North", "EUR")]
    assert (north_eur.count, north_eur.amount) == (2, Decimal("1333.43"))
    # 1000.10 x 10 % + 333.33 x 75 % = 100.01 + 249.9975 = 350.0075 -> 350.01
    assert north_eur.weighted_amount == Decimal("350.01")
    assert by_territory[("Pipe South", "EUR")].weighted_amount == Decimal("660.00")
    assert by_territory[("Pipe South", "USD")].weighted_amount == Decimal("250.00")

    by_owner = {g.label: g for g in await pipeline.pipeline(ctx, group_by="owner", currency="eur")}
    assert by_owner["Ann Pipeline"].count == 2 and by_owner["Ann Pipeline"].key == ann.id

    months = {
        g.key: g for g in await pipeline.pipeline(ctx, group_by="month", include_closed=True, currency="EUR")
    }
    assert months["2031-01"].count == 3 and months["2031-01"].amount == Decimal("11332.43")
    assert months["2031-01"].weighted_amount == Decimal("10349.01")
    assert months["2031-02"].count == 1
    with pytest.raises(ValidationError) as bad:
        await pipeline.pipeline(ctx, group_by="planet")
    assert bad.value.field == "groupBy"
    # A mistyped currency is an error, not an empty pipeline that reads as "no deals".
    with pytest.raises(ValidationError, match="three-letter ISO 4217") as bad:
        await pipeline.pipeline(ctx, group_by="owner", currency="euro")
    assert bad.value.field == "currency"


async def test_competitor_notes_and_summary(hub: Hub) -> None:
    ctx = ctx_for(hub, "analyst")
    won = await opportunities.create_opportunity(
        ctx, fields=deal("cus_pipe_0", "vs globex 1", "100", "Proposal", "2030-03-01")
    )
    lost = await opportunities.create_opportunity(
        ctx, fields=deal("cus_pipe_0", "vs globex 2", "100", "Proposal", "2030-03-01")
    )
    note = competitors.create_competitor_note
    await note(
        ctx,
        fields={"competitor": "Globex", "opportunity_id": won.id, "observed_price": "90", "currency": "EUR"},
    )
    await note(
        ctx,
        fields={
            "competitor": " globex ",
            "opportunity_id": lost.id,
            "observed_price": "80.01",
            "currency": "EUR",
            "strengths": "Cheap",
            "weaknesses": "Slow",
        },
    )
    await note(
        ctx,
        fields={
            "competitor": "GLOBEX",
            "customer_id": "cus_pipe_1",
            "observed_price": "120",
            "currency": "USD",
        },
    )
    await note(ctx, fields={"competitor": "Initech", "customer_id": "cus_pipe_2", "outcome": "won"})
    with pytest.raises(ValidationError) as orphan:
        await note(ctx, fields={"competitor": "Nobody"})
    assert orphan.value.field == "customerId"
    with pytest.raises(ValidationError) as price:
        await note(ctx, fields={"competitor": "X", "customer_id": "cus_pipe_0", "observed_price": "5"})
    assert price.value.field == "currency"
    # closing the deals settles the notes' outcomes
    await opportunities.update_opportunity(
        ctx, opportunity_id=won.id, version=1, changes={"stage": "Closed Won"}
    )
    await opportunities.update_opportunity(
        ctx, opportunity_id=lost.id, version=1, changes={"stage": "Closed Lost", "lost_reason": "Price"}
    )

    summary = {s.competitor.casefold(): s for s in await competitors.competitor_summary(ctx)}
    globex = summary["globex"]
    assert (globex.notes, globex.wins, globex.losses, globex.unknown, globex.opportunities) == (3, 1, 1, 1, 2)
    prices = {p.currency: (p.average, p.notes) for p in globex.average_prices}
    assert prices == {"EUR": (Decimal("85.00"), 2), "USD": (Decimal("120.00"), 1)}  # 85.005, half to even
    assert (summary["initech"].wins, summary["initech"].average_prices) == (1, [])
    on_won = await competitors.list_competitor_notes(ctx, opportunity_id=won.id)
    assert [n.customer_id for n in on_won] == ["cus_pipe_0"] and on_won[0].author == "analyst"


async def test_call_queue_orders_open_tasks_by_due_date(hub: Hub) -> None:
    ctx = ctx_for(hub)
    rep = await reps.create_sales_rep(ctx, fields={"name": "Queue Owner", "email": "queue@crm.example.com"})
    base = dt.datetime(2030, 6, 1, 9, tzinfo=dt.UTC)

    async def task(subject: str, due: dt.datetime | None, **extra: object) -> object:
        return await activities.create_activity(
            ctx,
            fields={
                "type": "task",
                "subject": subject,
                "owner_id": rep.id,
                "customer_id": "cus_pipe_0",
                "due_at": due.isoformat() if due else None,
                **extra,
            },
        )

    later = await task("later", base + dt.timedelta(days=2))
    await task("undated", None)
    soon = await task("soon", base)
    done = await task("done already", base - dt.timedelta(days=1), done=True)
    await activities.create_activity(
        ctx,
        fields={
            "type": "call",
            "subject": "a call",
            "owner_id": rep.id,
            "customer_id": "cus_pipe_0",
            "due_at": base.isoformat(),
        },
    )
    assert done.completed_at is not None
    queue = await activities.call_queue(ctx, owner_id=rep.id)
    assert [a.subject for a in queue] == ["soon", "later", "undated"]
    await activities.update_activity(ctx, activity_id=soon.id, version=1, changes={"done": True})
    assert [a.subject for a in await activities.call_queue(ctx, owner_id=rep.id)] == ["later", "undated"]
    with pytest.raises(StaleVersionError):
        await activities.update_activity(ctx, activity_id=later.id, version=7, changes={"done": True})
    with pytest.raises(NotFoundError):
        await activities.call_queue(ctx, owner_id="rep_nobody")
    with pytest.raises(ValidationError) as unlinked:
        await activities.create_activity(ctx, fields={"type": "note", "subject": "floating"})
    assert unlinked.value.field == "customerId"
    with pytest.raises(ValidationError) as bad_type:
        await activities.create_activity(
            ctx, fields={"type": "telepathy", "subject": "x", "customer_id": "cus_pipe_0"}
        )
    assert bad_type.value.field == "type"


async def test_stages_are_configurable(hub: Hub) -> None:
    ctx = ctx_for(hub)
    added = await stages.configure_stage(
        ctx, name="Verbal Yes", fields={"position": 45, "probability": 90, "forecast_category": "Commit"}
    )
    assert (added.probability, added.is_closed, added.version) == (90, False, 1)
    with pytest.raises(StaleVersionError):
        await stages.configure_stage(
            ctx, name="Verbal Yes", fields={"position": 1, "probability": 1, "forecast_category": "Pipeline"}
        )
    changed = await stages.configure_stage(ctx, name="Verbal Yes", fields={"probability": 85}, version=1)
    assert changed.probability == 85
    verbal = await opportunities.create_opportunity(
        ctx, fields=deal("cus_pipe_0", "v", "10", "verbal yes", "2030-01-01")
    )
    assert (verbal.stage, verbal.probability, verbal.forecast_category) == ("Verbal Yes", 85, "Commit")
    assert [s.name for s in await stages.list_stages(ctx)].index("Verbal Yes") == 4
