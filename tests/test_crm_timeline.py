"""The customer timeline on SQLite and PostgreSQL: ERP orders and CRM activities, notes and lead/opportunity
events in one newest-first stream, with cursors and kind filters, and the episode provider registry."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.sdk import CreditTerms, Entity
from hub.crm.episodes import SILO_EPISODES, EpisodeProvider, EpisodeRegistry
from hub.crm.errors import ValidationError
from hub.crm.services import activities, competitors, conversion, leads, opportunities
from hub.crm.services.timeline import customer_timeline
from hub.errors import InvalidCursorError
from hub.hub import Hub
from hub.services.customers import customer_orders, list_customers
from hub.store.models import HubCustomer

from .support.crm import BACKENDS, crm_hub, ctx_for
from .support.hub import erp_source


@pytest.fixture(scope="module", params=BACKENDS)
async def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, erp_sqlite: Path
) -> AsyncIterator[Hub]:
    sources = [erp_source(f"sqlite+aiosqlite:///{erp_sqlite}")]
    async with crm_hub(tmp_path_factory.mktemp("crm-timeline"), request.param, sources=sources) as running:
        yield running


@pytest.fixture(scope="module")
async def customer(hub: Hub) -> HubCustomer:
    """An ERP customer with several orders and CRM history: a converted lead, a deal moved and won,
    a competitor note and a meeting dated between two of its orders."""
    ctx = ctx_for(hub, "timeline-tester")
    page = await list_customers(ctx, first=50)
    counted = [(len(await customer_orders(ctx_for(hub), customer=row)), row) for row in page.items]
    _, chosen = max(counted, key=lambda pair: pair[0])
    orders = await customer_orders(ctx, customer=chosen)
    assert len(orders) >= 4

    lead = (
        await leads.create_lead(ctx, fields={"name": "Timeline Lead", "company": chosen.display_name})
    ).lead
    converted = await conversion.convert_lead(
        ctx,
        lead_id=lead.id,
        version=1,
        customer_id=chosen.id,
        opportunity={"amount": "5000", "currency": "EUR", "close_date": "2030-01-01"},
    )
    deal = converted.opportunity
    assert deal is not None
    deal = await opportunities.update_opportunity(
        ctx, opportunity_id=deal.id, version=1, changes={"stage": "Proposal"}
    )
    await competitors.create_competitor_note(ctx, fields={"competitor": "Globex", "opportunity_id": deal.id})
    await opportunities.update_opportunity(
        ctx, opportunity_id=deal.id, version=2, changes={"stage": "Closed Won"}
    )
    first, second = sorted(o.ordered_at for o in orders)[:2]
    between = first + (second - first) / 2
    await activities.create_activity(
        ctx,
        fields={
            "type": "meeting",
            "subject": "Quarterly review",
            "customer_id": chosen.id,
            "due_at": between.isoformat(),
        },
    )
    return chosen


async def test_one_stream_newest_first(hub: Hub, customer: HubCustomer) -> None:
    ctx = ctx_for(hub)
    page = await customer_timeline(ctx, customer=customer, first=100)
    items = page.items
    orders = await customer_orders(ctx, customer=customer)
    assert page.total_count == len(items) == len(orders) + 7 and not page.has_next_page
    stamps = [(e.occurred_at, e.kind, e.key) for e in items]
    assert stamps == sorted(stamps, reverse=True)
    assert {e.reference_id for e in items if e.kind == "order"} == {o.external_id for o in orders}
    order_totals = {o.external_id: o.total for o in orders}
    assert all(
        e.amount == order_totals[e.reference_id] and e.source == "erp" for e in items if e.kind == "order"
    )
    actions = sorted((e.kind, e.action) for e in items if e.kind in ("lead", "opportunity"))
    assert actions == [
        ("lead", "converted"),
        ("lead", "created"),
        ("opportunity", "created"),
        ("opportunity", "stage_changed"),
        ("opportunity", "won"),
    ]
    assert {e.kind for e in items} == {"order", "lead", "opportunity", "competitor_note", "activity"}
    # the meeting sits between the two oldest orders
    kinds_in_order = [e.kind for e in items]
    assert kinds_in_order[-3:] == ["order", "activity", "order"]
    won = next(e for e in items if e.action == "won")
    assert won.amount is not None and won.amount == 5000 and won.actor == "timeline-tester"


async def test_kinds_filter(hub: Hub, customer: HubCustomer) -> None:
    ctx = ctx_for(hub)
    only_orders = await customer_timeline(ctx, customer=customer, first=100, kinds=["order"])
    assert only_orders.total_count == len(await customer_orders(ctx, customer=customer))
    assert {e.kind for e in only_orders.items} == {"order"}
    crm = await customer_timeline(ctx, customer=customer, first=100, kinds=["Opportunity", "competitor_note"])
    assert sorted(e.kind for e in crm.items) == [
        "competitor_note",
        "opportunity",
        "opportunity",
        "opportunity",
    ]
    assert (await customer_timeline(ctx, customer=customer, kinds=[])).items == []
    with pytest.raises(ValidationError, match="known kinds") as unknown:
        await customer_timeline(ctx, customer=customer, kinds=["order", "gossip"])
    assert unknown.value.field == "kinds"


async def test_pages_follow_cursors(hub: Hub, customer: HubCustomer) -> None:
    everything = (await customer_timeline(ctx_for(hub), customer=customer, first=100)).items
    walked, after, pages = [], None, 0
    while True:
        page = await customer_timeline(ctx_for(hub), customer=customer, first=3, after=after)
        walked += page.items
        pages += 1
        assert page.has_previous_page == (after is not None)
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert walked == everything and pages == -(-len(everything) // 3)
    with pytest.raises(InvalidCursorError):
        await customer_timeline(ctx_for(hub), customer=customer, after="bm90LWEtY3Vyc29y")
    other = (await list_customers(ctx_for(hub), first=1)).items[0]
    if other.id != customer.id:  # a cursor of one customer's timeline is not one of another's
        with pytest.raises(InvalidCursorError):
            await customer_timeline(ctx_for(hub), customer=other, after=after)


async def test_silo_entities_join_through_the_registry(hub: Hub, customer: HubCustomer) -> None:
    registry = EpisodeRegistry()
    registry.register(
        EpisodeProvider(
            kind="credit_review",
            entity=Entity.CREDIT_TERMS,
            timestamp=lambda r: (
                dt.datetime(2001, 1, 1, tzinfo=dt.UTC) if isinstance(r, CreditTerms) else None
            ),
            title=lambda r: f"Credit limit {r.credit_limit}",
            amount=lambda r: r.credit_limit,
            currency=lambda r: r.currency,
        )
    )
    with pytest.raises(ValueError, match="already registered"):
        registry.register(
            EpisodeProvider(
                kind="activity", entity=Entity.ORDER, timestamp=lambda r: None, title=lambda r: ""
            )
        )
    page = await customer_timeline(ctx_for(hub), customer=customer, first=100, registry=registry)
    reviews = [e for e in page.items if e.kind == "credit_review"]
    assert len(reviews) == 1 and reviews[0].title.startswith("Credit limit") and page.items[-1] == reviews[0]
    assert "order" not in {e.kind for e in page.items}  # only what this registry declares
    assert "order" in SILO_EPISODES.kinds()
