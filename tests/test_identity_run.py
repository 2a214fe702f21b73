"""Runs of identity resolution against a hub database: stable ids, incremental runs, deletions, manual merges
and splits that survive re-runs, links from outside identity resolution left alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.sdk import Entity
from hub.context import RequestContext
from hub.errors import InvalidInputError
from hub.identity import hub_customer_id, merge_customers, run_identity_resolution, split_customer
from hub.identity.tables import IdentityRun
from hub.services.customers import get_customer
from hub.store.models import CustomerLink, utcnow

from .support.identity import (
    clusters,
    contact,
    customer,
    customer_of,
    customers,
    identity_hub,
    links_by_record,
    member,
)
from .support.servers import fresh_pg_database


def world() -> dict[str, list]:  # type: ignore[type-arg]
    return {
        "erp": [
            customer("erp", "1", "Alfreds Futterkiste GmbH", phone="030 1234567", website="www.alfreds.de",
                     address={"postal_code": "12209", "country": "DE"}),
            customer("erp", "2", "Berglunds snabbköp AB", phone="0921-12 34 65", address={"country": "SE"}),
            customer("erp", "3", "Chop-suey Chinese AG", phone="061 1234567", address={"country": "CH"}),
            contact("erp", "c1", "1", email="maria.anders@alfreds.de"),
        ],
        "accounting": [
            customer("accounting", "A1", "ALFREDS FUTTERKISTE G.m.b.H.", phone="+49 30 1234567", address={"country": "Germany"}),
            customer("accounting", "A2", "Berglunds Snabbkop", phone="+46 921 123465", address={"country": "Sweden"}),
            customer("accounting", "A9", "Walk-in Bakery", phone="+44 20 7946 0958", address={"country": "GB"}),
        ],
        "marketing": [
            member("marketing", "Maria.Anders@alfreds.de"),
            member("marketing", "lead@prospect.example", company="Prospect Ltd"),
        ],
    }  # fmt: skip


async def test_first_run_links_records_and_ids_derive_from_the_anchor(tmp_path: Path) -> None:
    async with identity_hub(tmp_path, world()) as (hub, _):
        report = await run_identity_resolution(hub)
        assert report.full and report.full_reason == "first run"
        assert report.records_read == {
            "erp.customer": 3, "erp.contact": 1, "accounting.customer": 3, "marketing.marketing_member": 2
        }  # fmt: skip
        assert await clusters(hub) == {
            frozenset({("erp", "1"), ("accounting", "A1"), ("marketing", "maria.anders@alfreds.de")}),
            frozenset({("erp", "2"), ("accounting", "A2")}),
            frozenset({("erp", "3")}),
        }
        # Only seed-source clusters become customers: the bakery and the lead stay unlinked.
        assert await customer_of(hub, "accounting", "A9") is None
        assert await customer_of(hub, "erp", "1") == hub_customer_id("erp", "1")
        links = await links_by_record(hub)
        assert links[("accounting", "customer", "A1")].rule == "name_and_phone"
        assert links[("erp", "customer", "1")].rule == "seed"
        assert links[("marketing", "marketing_member", "maria.anders@alfreds.de")].rule == "email"
        assert report.customers == 3 and report.write.customers_created == 3
        rows = await customers(hub)
        assert rows[hub_customer_id("erp", "1")].display_name == "Alfreds Futterkiste GmbH"
        assert "maria.anders@alfreds.de" in rows[hub_customer_id("erp", "1")].search_text


async def test_reruns_keep_ids_links_and_link_times(tmp_path: Path) -> None:
    async with identity_hub(tmp_path, world()) as (hub, _):
        await run_identity_resolution(hub)
        before = await links_by_record(hub)
        again = await run_identity_resolution(hub)
        assert not again.full and again.records_changed == 0
        assert again.write.links_added == again.write.links_changed == again.write.links_removed == 0
        full = await run_identity_resolution(hub, full=True)
        assert full.full and full.full_reason == "requested"
        after = await links_by_record(hub)
        assert {k: (v.hub_customer_id, v.rule, v.linked_at) for k, v in before.items()} == {
            k: (v.hub_customer_id, v.rule, v.linked_at) for k, v in after.items()
        }


async def test_incremental_run_reads_past_what_requests_cached(tmp_path: Path) -> None:
    """A 360 view cached customer 2's contacts; the next run must still see the contact added since, or
    its watermark would move past the change and the member it links would stay unlinked until a full
    run."""
    cache = {"enabled": True, "default_ttl_seconds": 3600}
    async with identity_hub(tmp_path, world(), cache=cache) as (hub, data):
        await run_identity_resolution(hub)
        cached = await hub.sources.find_related("erp", Entity.CONTACT, "customer_external_id", ["2"])
        data.upsert("erp", [contact("erp", "c2", "2", email="christina@berglunds.se", updated=6)])
        data.upsert("marketing", [member("marketing", "christina@berglunds.se", updated=7)])
        # the cache still holds the old list, as a request within the TTL would see it
        assert await hub.sources.find_related("erp", Entity.CONTACT, "customer_external_id", ["2"]) == cached
        await run_identity_resolution(hub)
        member_id = "christina@berglunds.se"
        assert await customer_of(hub, "marketing", member_id, "marketing_member") == hub_customer_id(
            "erp", "2"
        )
        # and what the run read refreshed the cache for everyone else
        (fresh,) = await hub.sources.find_related("erp", Entity.CONTACT, "customer_external_id", ["2"])
        assert "christina@berglunds.se" in {c.email for c in fresh}


async def test_incremental_run_reads_only_changes_and_relinks_them(tmp_path: Path) -> None:
    async with identity_hub(tmp_path, world()) as (hub, data):
        await run_identity_resolution(hub)
        # The bakery turns out to be Chop-suey (same phone now); a new support-less ERP contact appears.
        data.upsert(
            "accounting",
            [
                customer(
                    "accounting",
                    "A9",
                    "Chop suey Chinese",
                    phone="+41 61 123 45 67",
                    address={"country": "CH"},
                    updated=5,
                )
            ],
        )
        data.upsert("erp", [contact("erp", "c2", "2", email="christina@berglunds.se", updated=6)])
        data.upsert("marketing", [member("marketing", "christina@berglunds.se", updated=7)])
        report = await run_identity_resolution(hub)
        assert not report.full
        assert report.records_read["accounting.customer"] == 1
        assert report.records_read["marketing.marketing_member"] == 1
        assert report.records_read["erp.customer"] == 0 and report.records_read["erp.contact"] == 1
        # erp:2 changed (a new contact), plus the two changed records.
        assert report.records_changed == 3
        assert await customer_of(hub, "accounting", "A9") == hub_customer_id("erp", "3")
        member_id = "christina@berglunds.se"
        assert await customer_of(hub, "marketing", member_id, "marketing_member") == hub_customer_id(
            "erp", "2"
        )
        # A record that stops matching is unlinked.
        data.upsert(
            "accounting",
            [customer("accounting", "A9", "Walk-in Bakery", phone="+44 20 7946 0958", updated=9)],
        )
        await run_identity_resolution(hub)
        assert await customer_of(hub, "accounting", "A9") is None


async def test_full_run_forgets_records_gone_from_their_silo(tmp_path: Path) -> None:
    records = world()
    async with identity_hub(tmp_path, records) as (hub, data):
        await run_identity_resolution(hub)
        data.replace("accounting", [r for r in records["accounting"] if r.external_id != "A1"])
        report = await run_identity_resolution(hub, full=True)
        assert report.records_deleted == 1
        assert ("accounting", "customer", "A1") not in await links_by_record(hub)


async def test_rule_changes_make_the_next_run_full(tmp_path: Path) -> None:
    async with identity_hub(tmp_path, world()) as (hub, _):
        await run_identity_resolution(hub)
        hub.settings.identity.rules = hub.settings.identity.rules[:1]
        report = await run_identity_resolution(hub)
        assert report.full and report.full_reason == "rules changed"
        assert await customer_of(hub, "accounting", "A1") is None
        async with hub.db.session() as session:
            statuses = list(await session.scalars(select(IdentityRun.status)))
        assert statuses == ["succeeded"] * 2


async def test_manual_merge_holds_across_reruns_and_old_ids_resolve(tmp_path: Path) -> None:
    async with identity_hub(tmp_path, world()) as (hub, data):
        await run_identity_resolution(hub)
        survivor, merged = hub_customer_id("erp", "2"), hub_customer_id("erp", "3")
        result = await merge_customers(hub, survivor_id=survivor, merged_ids=[merged], actor="ada")
        assert result.id == survivor
        links = await links_by_record(hub)
        assert links[("erp", "customer", "3")].hub_customer_id == survivor
        assert links[("erp", "customer", "3")].manual and links[("erp", "customer", "3")].rule == "manual"
        for full in (False, True):
            await run_identity_resolution(hub, full=full)
            assert await customer_of(hub, "erp", "3") == survivor
            assert await customer_of(hub, "erp", "2") == survivor
        found = await get_customer(RequestContext.for_hub(hub), customer_id=merged)
        assert found is not None and found.id == survivor
        # New evidence keeps flowing into the merged customer...
        data.upsert("erp", [contact("erp", "c3", "3", email="wing@chopsuey.ch", updated=3)])
        data.upsert("marketing", [member("marketing", "wing@chopsuey.ch", updated=3)])
        await run_identity_resolution(hub)
        assert await customer_of(hub, "marketing", "wing@chopsuey.ch", "marketing_member") == survivor
        # ... within its limits: it already holds an accounting record, so a second one stays out.
        data.upsert(
            "accounting",
            [
                customer(
                    "accounting",
                    "A9",
                    "Chop suey Chinese",
                    phone="+41 61 123 45 67",
                    address={"country": "CH"},
                    updated=3,
                )
            ],
        )
        await run_identity_resolution(hub)
        assert await customer_of(hub, "accounting", "A9") is None


async def test_manual_split_holds_across_reruns_and_a_later_merge_undoes_it(tmp_path: Path) -> None:
    async with identity_hub(tmp_path, world()) as (hub, _):
        await run_identity_resolution(hub)
        original = hub_customer_id("erp", "1")
        keys = [
            ("accounting", "customer", "A1"),
            ("marketing", "marketing_member", "maria.anders@alfreds.de"),
        ]
        split = await split_customer(hub, customer_id=original, records=keys, actor="ada")
        assert split.original.id == original and split.created.id == hub_customer_id("accounting", "A1")
        for full in (False, True, False):
            await run_identity_resolution(hub, full=full)
            assert await customer_of(hub, "accounting", "A1") == split.created.id
            assert await customer_of(hub, "marketing", keys[1][2], "marketing_member") == split.created.id
            assert await customer_of(hub, "erp", "1") == original
        await merge_customers(hub, survivor_id=original, merged_ids=[split.created.id])
        await run_identity_resolution(hub, full=True)
        assert await customer_of(hub, "accounting", "A1") == original


async def test_bad_decisions_are_refused_with_clear_errors(tmp_path: Path) -> None:
    async with identity_hub(tmp_path, world()) as (hub, _):
        await run_identity_resolution(hub)
        one, two = hub_customer_id("erp", "1"), hub_customer_id("erp", "2")
        with pytest.raises(InvalidInputError, match="no customer with id 'cus_nope'"):
            await merge_customers(hub, survivor_id=one, merged_ids=["cus_nope"])
        with pytest.raises(InvalidInputError, match="is the survivor"):
            await merge_customers(hub, survivor_id=one, merged_ids=[one])
        with pytest.raises(InvalidInputError, match="at least one"):
            await merge_customers(hub, survivor_id=one, merged_ids=[])
        with pytest.raises(InvalidInputError, match="not linked to customer"):
            await split_customer(hub, customer_id=one, records=[("erp", "customer", "2")])
        with pytest.raises(InvalidInputError, match="leave at least one record"):
            await split_customer(
                hub, customer_id=two, records=[("erp", "customer", "2"), ("accounting", "customer", "A2")]
            )


async def test_links_made_outside_identity_resolution_survive_runs_and_follow_merges(tmp_path: Path) -> None:
    async with identity_hub(tmp_path, world()) as (hub, _):
        await run_identity_resolution(hub)
        target = hub_customer_id("erp", "3")
        async with hub.db.transaction() as session:
            session.add(
                CustomerLink(hub_customer_id=target, source="crm", entity=Entity.CUSTOMER.value, external_id="lead_1",
                             rule="lead_conversion", score=1.0, manual=True, linked_at=utcnow())
            )  # fmt: skip
        await run_identity_resolution(hub, full=True)
        assert (await links_by_record(hub))[("crm", "customer", "lead_1")].hub_customer_id == target
        await merge_customers(hub, survivor_id=hub_customer_id("erp", "2"), merged_ids=[target])
        link = (await links_by_record(hub))[("crm", "customer", "lead_1")]
        assert link.hub_customer_id == hub_customer_id("erp", "2") and link.rule == "lead_conversion"


async def test_automatic_merge_keeps_the_old_id_resolving(tmp_path: Path) -> None:
    records = world()
    async with identity_hub(tmp_path, records, identity={"seed_sources": ["erp", "accounting"]}) as (
        hub,
        data,
    ):
        await run_identity_resolution(hub)
        bakery = hub_customer_id("accounting", "A9")
        assert await customer_of(hub, "accounting", "A9") == bakery
        # The ERP gains the bakery: its customer now holds the accounting record, and the old id follows.
        data.upsert(
            "erp",
            [
                customer(
                    "erp",
                    "4",
                    "Walk-in Bakery Ltd",
                    phone="020 7946 0958",
                    address={"country": "GB"},
                    updated=4,
                )
            ],
        )
        report = await run_identity_resolution(hub)
        assert report.write.customers_merged == 0  # the bakery id keeps its record: it wins the vote
        assert await customer_of(hub, "erp", "4") == bakery
        rows = await customers(hub)
        assert rows[bakery].merged_into is None


@pytest.mark.postgres
async def test_runs_and_decisions_on_postgresql(tmp_path: Path) -> None:
    async with fresh_pg_database() as url, identity_hub(tmp_path, world(), database_url=url) as (hub, data):
        await run_identity_resolution(hub)
        survivor, merged = hub_customer_id("erp", "2"), hub_customer_id("erp", "3")
        await merge_customers(hub, survivor_id=survivor, merged_ids=[merged])
        split = await split_customer(
            hub, customer_id=hub_customer_id("erp", "1"), records=[("accounting", "customer", "A1")]
        )
        data.upsert("marketing", [member("marketing", "info@berglunds.se", updated=3)])
        await run_identity_resolution(hub)
        await run_identity_resolution(hub, full=True)
        assert await customer_of(hub, "erp", "3") == survivor
        assert await customer_of(hub, "accounting", "A1") == split.created.id
