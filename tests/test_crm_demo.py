"""The demo CRM seeded from the ERP silo: hierarchy, reps, rules, pipeline; a second run adds nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from hub.crm.demo import seed_demo_crm
from hub.crm.models import Activity, CompetitorNote, Lead, Opportunity, SalesRep, Territory, TerritoryMember
from hub.crm.services import activities, pipeline, territories
from silos.erp import ErpGenerator

from .conftest import ERP_TEST_SIZE
from .support.crm import crm_hub, ctx_for
from .support.hub import erp_source


async def test_demo_seed_is_complete_and_idempotent(tmp_path: Path, erp_sqlite: Path) -> None:
    erp_url = f"sqlite+aiosqlite:///{erp_sqlite}"
    generator = ErpGenerator(ERP_TEST_SIZE, seed=7)
    async with crm_hub(tmp_path, "sqlite", sources=[erp_source(erp_url)]) as hub:
        first = await seed_demo_crm(hub, generator=generator)
        org = generator.organisation
        assert first.created["territories"] == len(org.regions) + len(org.territories) + 1
        assert first.created["sales_reps"] == len(org.employees)
        assert first.created["opportunities"] == 12 and first.created["leads"] >= 6

        async with hub.db.session() as session:
            counts = {
                model.__name__: await session.scalar(select(func.count()).select_from(model))
                for model in (
                    Territory,
                    SalesRep,
                    TerritoryMember,
                    Lead,
                    Opportunity,
                    CompetitorNote,
                    Activity,
                )
            }
        again = await seed_demo_crm(hub, erp_database_url=erp_url)  # the same data, read from the database
        assert sum(again.created.values()) == 0
        async with hub.db.session() as session:
            for model in (Territory, SalesRep, TerritoryMember, Lead, Opportunity, CompetitorNote, Activity):
                assert await session.scalar(select(func.count()).select_from(model)) == counts[model.__name__]

        ctx = ctx_for(hub)
        tree = {node.territory.name: node for node in await territories.territory_tree(ctx)}
        assert (
            tree["EMEA Central"].children and tree["EMEA Central"].children[0].children
        )  # region > country > state
        groups = await pipeline.pipeline(ctx, group_by="territory")
        assert groups and all(g.weighted_amount <= g.amount for g in groups)
        async with hub.db.session() as session:
            owner = await session.scalar(
                select(Activity.owner_id)
                .where(Activity.type == "task", Activity.owner_id.is_not(None))
                .limit(1)
            )
            strategic = await session.scalar(select(Lead).where(Lead.external_key == "demo:lead:strategic"))
        assert owner is not None and await activities.call_queue(ctx, owner_id=owner)
        assert (
            strategic is not None
            and (await territories.get_territory(ctx, territory_id=strategic.territory_id)).name
            == "Strategic Accounts"
        )
