"""Leads on SQLite and PostgreSQL: validation, duplicate hints, the status workflow, conversion (new and
existing customers, twice, atomic) and CSV import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from hub.crm.errors import (
    AlreadyConvertedError,
    InvalidStateError,
    NotFoundError,
    StaleVersionError,
    ValidationError,
)
from hub.crm.models import CrmCustomerProfile, CrmEvent, Lead, Opportunity
from hub.crm.services import conversion, lead_import, leads, reps, territories
from hub.hub import Hub
from hub.store.models import CustomerLink, HubCustomer

from .support.crm import BACKENDS, add_customer, crm_hub, ctx_for


@pytest.fixture(scope="module", params=BACKENDS)
async def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with crm_hub(tmp_path_factory.mktemp("crm-leads"), request.param) as running:
        yield running


async def count(hub: Hub, model: type, *where: object) -> int:
    async with hub.db.session() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"company": "No Name Ltd"}, "BAD_USER_INPUT", "name"),
        ({"name": "  "}, "BAD_USER_INPUT", "name"),
        ({"name": "A", "email": "not-an-email"}, "BAD_USER_INPUT", "email"),
        ({"name": "A", "phone": "call me"}, "BAD_USER_INPUT", "phone"),
        ({"name": "A", "expected_revenue": "100"}, "BAD_USER_INPUT", "currency"),
        ({"name": "A", "expected_revenue": "-1", "currency": "EUR"}, "BAD_USER_INPUT", "expectedRevenue"),
        ({"name": "A", "expected_revenue": "1.001", "currency": "EUR"}, "BAD_USER_INPUT", "expectedRevenue"),
        ({"name": "A", "expected_revenue": "NaN", "currency": "EUR"}, "BAD_USER_INPUT", "expectedRevenue"),
        ({"name": "A", "currency": "euro"}, "BAD_USER_INPUT", "currency"),
        ({"name": "A", "country": "Germany"}, "BAD_USER_INPUT", "country"),
        ({"name": "A", "source": "carrier pigeon"}, "BAD_USER_INPUT", "source"),
        ({"name": "A", "status": "Converted"}, "BAD_USER_INPUT", "status"),
        ({"name": "A" * 201}, "BAD_USER_INPUT", "name"),
        ({"name": "A\x00B"}, "BAD_USER_INPUT", "name"),
        ({"name": "A", "owner_id": "rep_nobody"}, "NOT_FOUND", "ownerId"),
        ({"name": "A", "territory_id": "ter_nowhere"}, "NOT_FOUND", "territoryId"),
        ({"name": "A", "shoe_size": 42}, "BAD_USER_INPUT", "shoeSize"),
    ],
)
async def test_bad_input_is_a_typed_error_and_writes_nothing(
    hub: Hub, fields: dict, code: str, field: str
) -> None:
    before = await count(hub, Lead)
    with pytest.raises(Exception) as caught:
        await leads.create_lead(ctx_for(hub), fields=fields)
    assert (caught.value.code, caught.value.field) == (code, field)  # type: ignore[attr-defined]
    assert await count(hub, Lead) == before


async def test_create_records_audit_fields_and_an_event(hub: Hub) -> None:
    result = await leads.create_lead(
        ctx_for(hub, "carol"),
        fields={
            "name": " Dana  Scully ",
            "email": "Dana@FBI.example.org",
            "expected_revenue": "1250.50",
            "currency": "usd",
            "country": "us",
            "source": "referral",
            "rating": "hot",
        },
    )
    lead = result.lead
    assert (lead.name, lead.email, lead.country, lead.currency, lead.rating) == (
        "Dana Scully",
        "dana@fbi.example.org",
        "US",
        "USD",
        "Hot",
    )
    assert lead.expected_revenue_minor == 125050 and lead.status == "New" and lead.version == 1
    assert lead.created_by == lead.updated_by == "carol" and lead.created_at.tzinfo is not None
    assert await count(hub, CrmEvent, CrmEvent.subject_id == lead.id, CrmEvent.kind == "lead.created") == 1


async def test_duplicate_hints_do_not_block(hub: Hub) -> None:
    customer = await add_customer(
        hub,
        "cus_dup_acme",
        "Acme Logistics GmbH",
        search_text="acme logistics gmbh info@acme-logistics.de +49 89 1234 5678",
    )
    first = await leads.create_lead(
        ctx_for(hub),
        fields={"name": "Wile Coyote", "company": "Acme Logistics", "email": "wile@acme-logistics.de"},
    )
    hints = {(h.record_type, h.record_id, h.reason) for h in first.duplicates}
    assert ("customer", customer.id, "SAME_EMAIL_DOMAIN") in hints
    assert ("customer", customer.id, "SIMILAR_COMPANY") in hints

    second = await leads.create_lead(
        ctx_for(hub),
        fields={
            "name": "W. Coyote",
            "company": "ACME-Logistics AG",
            "email": "wile@acme-logistics.de",
            "phone": "089 / 1234 5678",
        },
    )
    hints = {(h.record_type, h.record_id, h.reason) for h in second.duplicates}
    assert {
        ("lead", first.lead.id, "SAME_EMAIL"),
        ("lead", first.lead.id, "SIMILAR_COMPANY"),
        ("customer", customer.id, "SAME_PHONE"),
        ("customer", customer.id, "SIMILAR_COMPANY"),
    } <= hints
    assert second.duplicates == sorted(second.duplicates, key=lambda h: -h.score)
    assert await leads.get_lead(ctx_for(hub), lead_id=second.lead.id) is not None

    # webmail domains say nothing about the company; unrelated names are not similar
    third = await leads.create_lead(
        ctx_for(hub), fields={"name": "Road Runner", "company": "Beep Beep Couriers", "email": "rr@gmail.com"}
    )
    fourth = await leads.create_lead(
        ctx_for(hub), fields={"name": "Elmer", "company": "Fudd Hunting", "email": "elmer@gmail.com"}
    )
    assert not any(h.record_id == third.lead.id for h in fourth.duplicates)
    assert third.lead.email_domain == "gmail.com"


async def test_status_workflow_and_stale_versions(hub: Hub) -> None:
    ctx = ctx_for(hub)
    lead = (await leads.create_lead(ctx, fields={"name": "Fox Mulder"})).lead
    with pytest.raises(ValidationError) as caught:
        await leads.disqualify_lead(ctx, lead_id=lead.id, version=1, reason="  ")
    assert caught.value.field == "reason"
    dropped = await leads.disqualify_lead(ctx, lead_id=lead.id, version=1, reason="Not a fit")
    assert (dropped.status, dropped.disqualification_reason, dropped.version) == (
        "Unqualified",
        "Not a fit",
        2,
    )
    with pytest.raises(InvalidStateError):
        await conversion.convert_lead(ctx, lead_id=lead.id, version=2)
    with pytest.raises(StaleVersionError) as stale:
        await leads.qualify_lead(ctx, lead_id=lead.id, version=1)
    assert stale.value.field == "version" and stale.value.current_version == 2
    reopened = await leads.update_lead(ctx, lead_id=lead.id, version=2, changes={"status": "Contacted"})
    assert (reopened.status, reopened.disqualification_reason) == ("Contacted", None)
    qualified = await leads.qualify_lead(ctx, lead_id=lead.id, version=3)
    assert qualified.status == "Qualified" and qualified.version == 4
    with pytest.raises(NotFoundError):
        await leads.qualify_lead(ctx, lead_id="lead_missing", version=1)
    with pytest.raises(ValidationError) as bad_version:
        await leads.qualify_lead(ctx, lead_id=lead.id, version=0)
    assert bad_version.value.field == "version"


async def test_assign_sets_owner_and_pins_the_territory(hub: Hub) -> None:
    ctx = ctx_for(hub)
    rep = await reps.create_sales_rep(
        ctx, fields={"name": "Walter Skinner", "email": "skinner@fbi.example.org"}
    )
    lead = (await leads.create_lead(ctx, fields={"name": "Assign Me"})).lead
    territory = await territories.create_territory(ctx, fields={"name": "Assign Land", "type": "other"})
    assigned = await leads.assign_lead(ctx, lead_id=lead.id, version=1, owner_id=rep.id)
    assert assigned.owner_id == rep.id and assigned.territory_id is None and not assigned.territory_manual
    pinned = await leads.assign_lead(ctx, lead_id=lead.id, version=2, territory_id=territory.id)
    assert (pinned.owner_id, pinned.territory_id, pinned.territory_manual) == (rep.id, territory.id, True)
    freed = await leads.assign_lead(ctx, lead_id=lead.id, version=3, owner_id=None, territory_id=None)
    assert (freed.owner_id, freed.territory_id, freed.territory_manual) == (None, None, False)
    with pytest.raises(ValidationError):
        await leads.assign_lead(ctx, lead_id=lead.id, version=4)
    await reps.update_sales_rep(ctx, rep_id=rep.id, version=1, changes={"active": False})
    with pytest.raises(ValidationError, match="inactive") as caught:
        await leads.assign_lead(ctx, lead_id=lead.id, version=4, owner_id=rep.id)
    assert caught.value.field == "ownerId"


async def test_convert_into_a_new_customer_once(hub: Hub) -> None:
    ctx = ctx_for(hub, "closer")
    lead = (
        await leads.create_lead(
            ctx,
            fields={
                "name": "Jane Doe",
                "company": "Doe Brewing Co",
                "email": "jane@doebrewing.example.com",
                "country": "ie",
                "industry": "Food & Beverage",
                "expected_revenue": "40000",
                "currency": "EUR",
            },
        )
    ).lead
    result = await conversion.convert_lead(
        ctx, lead_id=lead.id, version=1, opportunity={"close_date": "2031-03-31"}
    )
    assert result.created_customer and result.customer.display_name == "Doe Brewing Co"
    assert result.customer.country == "IE"
    assert result.lead.status == "Converted" and result.lead.converted_customer_id == result.customer.id
    opportunity = result.opportunity
    assert opportunity is not None and opportunity.customer_id == result.customer.id
    assert (opportunity.amount_minor, opportunity.stage, opportunity.probability) == (
        4_000_000,
        "Prospecting",
        10,
    )
    assert result.lead.converted_opportunity_id == opportunity.id and opportunity.lead_id == lead.id
    async with hub.db.session() as session:
        link = await session.scalar(select(CustomerLink).where(CustomerLink.external_id == lead.id))
        profile = await session.get(CrmCustomerProfile, result.customer.id)
    assert (link.source, link.rule, link.hub_customer_id) == ("crm", "lead_conversion", result.customer.id)
    assert (profile.company, profile.email, profile.industry) == (
        "Doe Brewing Co",
        "jane@doebrewing.example.com",
        "Food & Beverage",
    )

    customers = await count(hub, HubCustomer)
    with pytest.raises(AlreadyConvertedError) as twice:
        await conversion.convert_lead(ctx, lead_id=lead.id, version=result.lead.version, opportunity={})
    assert twice.value.code == "ALREADY_CONVERTED"
    assert await count(hub, HubCustomer) == customers
    assert await count(hub, Opportunity, Opportunity.lead_id == lead.id) == 1
    with pytest.raises(InvalidStateError, match="read-only"):
        await leads.update_lead(
            ctx, lead_id=lead.id, version=result.lead.version, changes={"name": "Changed"}
        )


async def test_convert_into_an_existing_customer_fills_only_empty_fields(hub: Hub) -> None:
    ctx = ctx_for(hub)
    customer = await add_customer(hub, "cus_existing_fill", "Existing Widgets", country=None)
    first = (
        await leads.create_lead(
            ctx,
            fields={
                "name": "Ann First",
                "company": "Widgets (old name)",
                "phone": "+44 20 7946 0000",
                "country": "GB",
                "industry": "Manufacturing",
            },
        )
    ).lead
    one = await conversion.convert_lead(ctx, lead_id=first.id, version=1, customer_id=customer.id)
    assert not one.created_customer and one.customer.id == customer.id and one.opportunity is None
    assert one.customer.display_name == "Existing Widgets"  # not empty: kept
    assert one.customer.country == "GB"  # was empty: filled
    second = (
        await leads.create_lead(
            ctx,
            fields={
                "name": "Bob Second",
                "phone": "+44 20 7946 1111",
                "country": "FR",
                "industry": "Retail",
                "website": "https://widgets.example.com",
            },
        )
    ).lead
    await conversion.convert_lead(ctx, lead_id=second.id, version=1, customer_id=customer.id)
    async with hub.db.session() as session:
        profile = await session.get(CrmCustomerProfile, customer.id)
        refreshed = await session.get(HubCustomer, customer.id)
        links = (
            await session.scalars(
                select(CustomerLink.external_id).where(CustomerLink.hub_customer_id == customer.id)
            )
        ).all()
    assert (profile.phone, profile.industry, profile.country) == ("+44 20 7946 0000", "Manufacturing", "GB")
    assert profile.website == "https://widgets.example.com" and profile.version == 2
    assert refreshed.country == "GB" and sorted(links) == sorted([first.id, second.id])


async def test_a_failing_convert_leaves_neither_customer_nor_opportunity(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = ctx_for(hub)
    lead = (
        await leads.create_lead(
            ctx,
            fields={
                "name": "Half Written",
                "company": "Atomic Ltd",
                "expected_revenue": "10",
                "currency": "EUR",
            },
        )
    ).lead
    await leads.qualify_lead(ctx, lead_id=lead.id, version=1)
    customers, opportunities, links = (
        await count(hub, HubCustomer),
        await count(hub, Opportunity),
        await count(hub, CustomerLink),
    )

    # The version check is the last write of the conversion: a stale version undoes what came before.
    with pytest.raises(StaleVersionError):
        await conversion.convert_lead(ctx, lead_id=lead.id, version=1, opportunity={"stage": "Proposal"})

    # A failure in the middle (the event log refusing a write) undoes it too.
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("event log unavailable")

    monkeypatch.setattr(conversion, "record_event", broken)
    with pytest.raises(RuntimeError):
        await conversion.convert_lead(ctx, lead_id=lead.id, version=2, opportunity={})
    monkeypatch.undo()
    # Bad opportunity input and unknown customers are refused before anything is written.
    with pytest.raises(ValidationError) as bad:
        await conversion.convert_lead(ctx, lead_id=lead.id, version=2, opportunity={"stage": "Daydreaming"})
    assert bad.value.field == "stage"
    with pytest.raises(NotFoundError) as unknown:
        await conversion.convert_lead(ctx, lead_id=lead.id, version=2, customer_id="cus_nobody")
    assert unknown.value.field == "customerId"

    assert (await count(hub, HubCustomer), await count(hub, Opportunity), await count(hub, CustomerLink)) == (
        customers,
        opportunities,
        links,
    )
    after = await leads.get_lead(ctx, lead_id=lead.id)
    assert (after.status, after.version, after.converted_customer_id) == ("Qualified", 2, None)
    done = await conversion.convert_lead(ctx, lead_id=lead.id, version=2, opportunity={})
    assert done.opportunity is not None and done.opportunity.amount_minor == 1000


CSV_WITH_ERRORS = """Name,Email,Company,Expected Revenue,Currency,Owner Email,Favourite Colour
Good Row,good@example.com,Good Co,100,EUR,,blue
Bad Email,not-an-email,Bad Co,,,,
,nameless@example.com,,,,,
Money No Currency,m@example.com,,12.5,,,
Unknown Owner,u@example.com,,,,nobody@example.com,
"""


async def test_csv_import_reports_every_row_and_imports_nothing(hub: Hub) -> None:
    before = await count(hub, Lead)
    report = await lead_import.import_leads(ctx_for(hub), csv_text=CSV_WITH_ERRORS)
    problems = {(e.row, e.field, e.code) for e in report.errors}
    assert problems == {
        (0, "Favourite Colour", "UNKNOWN_COLUMN"),
        (2, "email", "BAD_USER_INPUT"),
        (3, "name", "BAD_USER_INPUT"),
        (4, "currency", "BAD_USER_INPUT"),
        (5, "ownerEmail", "NOT_FOUND"),
    }
    assert report.rows == 5 and report.imported == []
    assert await count(hub, Lead) == before


async def test_csv_import_all_rows_or_dry_run(hub: Hub) -> None:
    ctx = ctx_for(hub, "importer")
    await reps.create_sales_rep(ctx, fields={"name": "Importer Owner", "email": "owner@import.example.com"})
    text = (
        "name,email,companyName,expectedRevenue,currency,ownerEmail,country\n"
        "Row One,one@import.example.com,,1000,eur,owner@import.example.com,de\n"
        '"Row, Two",two@import.example.com,,,,,FR\n'
    ).replace("companyName", "company")
    before = await count(hub, Lead)
    dry = await lead_import.import_leads(ctx, csv_text=text, dry_run=True)
    assert dry.ok and dry.rows == 2 and dry.imported == [] and await count(hub, Lead) == before
    report = await lead_import.import_leads(ctx, csv_text=text)
    assert report.ok and [lead.name for lead in report.imported] == ["Row One", "Row, Two"]
    one, two = report.imported
    assert one.source == "import" and one.owner_id is not None and one.expected_revenue_minor == 100000
    assert (one.currency, one.country, two.country) == ("EUR", "DE", "FR")
    assert await count(hub, Lead) == before + 2


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty"), ("name\n", "no rows"), ("name\n\x00\n", "NUL"), ("a" * 5_000_001, "larger than")],
)
async def test_unreadable_csv_is_rejected(hub: Hub, text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        await lead_import.import_leads(ctx_for(hub), csv_text=text)
    assert caught.value.field == "csv"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # A lenient reader would take "B" and its row into the first row's name: one lead, not two.
        ('name,email\n"Unterminated,u@example.com\nB,b@example.com\n', "line 2: .*never closed"),
        ('name,email\n"Quoted" Tail,q@example.com\n', "line 2: .*must be doubled"),
        ('"name,email\nA,a@example.com\n', "line 1: .*never closed"),
    ],
)
async def test_malformed_csv_is_rejected_with_its_line(hub: Hub, text: str, message: str) -> None:
    before = await count(hub, Lead)
    with pytest.raises(ValidationError, match=message) as caught:
        await lead_import.import_leads(ctx_for(hub), csv_text=text)
    assert caught.value.field == "csv"
    assert await count(hub, Lead) == before


async def test_lead_search_ignores_case_accents_and_spacing(hub: Hub) -> None:
    ctx = ctx_for(hub)
    created = await leads.create_lead(
        ctx,
        fields={"name": "Jürgen Müller", "company": "Dörschner Łódź GmbH", "email": "jm@dorschner.example"},
    )
    lead = created.lead

    async def found(term: str) -> bool:
        page = await leads.list_leads(ctx, first=100, search=term)
        return lead.id in [row.id for row in page.items]

    terms = (
        "muller",
        "MÜLLER",
        "mueller",
        "Juergen Mueller",
        "jurgen  muller",
        "dorschner lodz",
        "Łódź GmbH",
    )
    for term in (*terms, "doerschner", "jm@dorschner"):
        assert await found(term), term
    assert not await found("muellr")
    # A change of one searched field keeps the others searchable.
    await leads.update_lead(ctx, lead_id=lead.id, version=lead.version, changes={"company": "Ærø Tools"})
    assert await found("aero tools") and await found("muller") and not await found("lodz")


async def test_money_is_exact(hub: Hub) -> None:
    lead = (
        await leads.create_lead(
            ctx_for(hub),
            fields={
                "name": "Cents",
                "expected_revenue": Decimal("0.10"),
                "annual_revenue": "999999999.99",
                "currency": "EUR",
            },
        )
    ).lead
    assert (lead.expected_revenue_minor, lead.annual_revenue_minor) == (10, 99999999999)
