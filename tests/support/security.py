"""A hub for the security tests: the ERP silo plus a small accounting database ("books", read by the SQL
adapter) so customers have invoices and payments, and a CRM with two territories (A with its child A1,
and B), a rep in each, and leads, opportunities, activities and competitor notes on both sides, some of
them deliberately straddling the border (a B opportunity on an A customer).

``World`` names every record, its territory, and the API keys and tokens of each principal.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import yaml
from sqlalchemy import insert, select

from hub.config import load_settings
from hub.context import RequestContext
from hub.crm.models import CustomerTerritory
from hub.crm.services import activities, competitors, leads, opportunities, reps, territories
from hub.hub import Hub
from hub.identity import seed_identity_map
from hub.security.api_keys import create_api_key, revoke_api_key
from hub.store.models import CustomerLink, HubCustomer

from .hub import erp_source

JWT_SECRET = "matrix-tests-shared-secret-0123456789abcdef"
JWT_ISSUER = "https://idp.test/"
JWT_AUDIENCE = "crmhub"
#: Invoice numbers start with this: no principal without finance:read may ever see it.
INVOICE_MARK = "FINSECRET-"
BOOKS_MAPPING = {
    "entities": {
        "invoice": {
            "table": "invoices",
            "key": "id",
            "order_by": "issued_at desc",
            "fields": {
                "customer_external_id": "company_id",
                "number": "number",
                "issued_at": "issued_at",
                "due_at": "due_at",
                "total": "total",
                "balance": "balance",
                "currency": "currency",
            },
            "relations": ["customer_external_id"],
        },
        "payment": {
            "table": "payments",
            "key": "id",
            "fields": {
                "customer_external_id": "company_id",
                "paid_at": "paid_at",
                "amount": "amount",
                "currency": "currency",
            },
            "relations": ["customer_external_id"],
        },
    }
}


def write_books(directory: Path, erp_sqlite: Path) -> Path:
    """One invoice and one payment per ERP company, in EUR."""
    with sqlite3.connect(erp_sqlite) as erp:
        companies = [row[0] for row in erp.execute("SELECT id FROM companies ORDER BY id")]
    path = directory / "books.sqlite"
    with sqlite3.connect(path) as books:
        books.execute(
            "CREATE TABLE invoices (id INTEGER PRIMARY KEY, company_id INTEGER, number TEXT, issued_at TEXT, "
            "due_at TEXT, total NUMERIC, balance NUMERIC, currency TEXT)"
        )
        books.execute(
            "CREATE TABLE payments (id INTEGER PRIMARY KEY, company_id INTEGER, paid_at TEXT, amount NUMERIC, "
            "currency TEXT)"
        )
        for company in companies:
            books.execute(
                "INSERT INTO invoices VALUES (?, ?, ?, '2024-01-05 00:00:00', '2024-02-05 00:00:00', "
                "'120.00', '20.00', 'EUR')",
                (company, company, f"{INVOICE_MARK}{company}"),
            )
            books.execute(
                "INSERT INTO payments VALUES (?, ?, '2024-01-20 00:00:00', '100.00', 'EUR')",
                (company, company),
            )
    (directory / "books.yaml").write_text(yaml.safe_dump(BOOKS_MAPPING, sort_keys=False))
    return path


#: What each principal of the world may see and do (hand-written, independent of the role config).
@dataclass(frozen=True)
class Spec:
    #: Territory labels whose records are visible; None: every record.
    scope: frozenset[str] | None
    finance: bool = False
    leads: bool = False
    opportunities: bool = False
    activities: bool = False
    notes: bool = False
    write_sales: bool = False  # leads, opportunities, notes
    write_activities: bool = False
    export: bool = False


ALL = None
SALES_REP = Spec(
    frozenset({"A", "A1"}),
    leads=True,
    opportunities=True,
    activities=True,
    notes=True,
    write_sales=True,
    write_activities=True,
)
PRINCIPALS: dict[str, Spec] = {
    "admin": Spec(ALL, True, True, True, True, True, True, True, True),
    "sales_manager": Spec(ALL, True, True, True, True, True, True, True, True),
    "rep_a": SALES_REP,
    "jwt_rep_a": SALES_REP,
    "rep_b": Spec(frozenset({"B"}), **{k: v for k, v in vars(SALES_REP).items() if k != "scope"}),
    "support_agent": Spec(ALL, activities=True, write_activities=True),
    "finance": Spec(ALL, finance=True, export=True),
    "bi_reader": Spec(ALL, leads=True, opportunities=True, activities=True, notes=True, export=True),
}
REFUSED = ("no_key", "revoked_key", "expired_jwt")


@dataclass
class World:
    hub: Hub
    #: Hub customer ids by label (c_a, c_a1, c_b, c_free) and the territory label each belongs to.
    customers: dict[str, str] = field(default_factory=dict)
    territories: dict[str, str] = field(default_factory=dict)  # label -> territory id
    reps: dict[str, str] = field(default_factory=dict)
    leads: dict[str, str] = field(default_factory=dict)
    opportunities: dict[str, str] = field(default_factory=dict)
    activities: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    #: Record label -> the territory labels that must all be visible for the record to be (empty: none).
    needs: dict[str, frozenset[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # customer label -> display name
    #: Principal label -> bearer token (None: no header at all).
    tokens: dict[str, str | None] = field(default_factory=dict)

    def id_of(self, label: str) -> str:
        for table in (self.customers, self.leads, self.opportunities, self.activities, self.notes):
            if label in table:
                return table[label]
        raise KeyError(label)

    def visible(self, label: str, scope: frozenset[str] | None) -> bool:
        """Whether a principal seeing territories ``scope`` (None: all) may see record ``label``."""
        if scope is None:
            return True
        needed = self.needs[label]
        return bool(needed) and needed <= scope


def hs256_token(claims: dict[str, Any], *, expires_in: float = 600) -> str:
    now = int(time.time())
    payload = {"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "iat": now, "exp": now + int(expires_in), **claims}
    return jwt.encode(payload, JWT_SECRET, algorithm="HS256")


def _ctx(hub: Hub) -> RequestContext:
    ctx = RequestContext.for_hub(hub)
    ctx.actor = "world-builder"
    return ctx


async def _link_books(hub: Hub) -> None:
    async with hub.db.transaction() as session:
        erp_links = (
            await session.execute(
                select(CustomerLink.hub_customer_id, CustomerLink.external_id).where(
                    CustomerLink.source == "erp"
                )
            )
        ).all()
        await session.execute(
            insert(CustomerLink),
            [
                {
                    "hub_customer_id": customer,
                    "source": "books",
                    "entity": "customer",
                    "external_id": external,
                    "rule": "test",
                    "score": 1.0,
                    "manual": True,
                }
                for customer, external in erp_links
            ],
        )


async def _build_crm(world: World) -> None:
    hub, ctx = world.hub, _ctx(world.hub)
    async with hub.db.session() as session:
        first = list(
            await session.execute(
                select(HubCustomer.id, HubCustomer.display_name).order_by(HubCustomer.display_name).limit(4)
            )
        )
    for label, (customer_id, name) in zip(("c_a", "c_a1", "c_b", "c_free"), first, strict=True):
        world.customers[label], world.names[label] = customer_id, name
    a = await territories.create_territory(ctx, fields={"name": "Mazowieckie", "type": "state"})
    a1 = await territories.create_territory(
        ctx, fields={"name": "Warszawa", "type": "city", "parent_id": a.id}
    )
    b = await territories.create_territory(ctx, fields={"name": "Malopolskie", "type": "state"})
    world.territories = {"A": a.id, "A1": a1.id, "B": b.id}
    for label, territory in (("rep_a", a.id), ("rep_b", b.id)):
        rep = await reps.create_sales_rep(
            ctx, fields={"name": f"Rep {label}", "email": f"{label}@example.com"}
        )
        await territories.add_territory_member(ctx, territory_id=territory, rep_id=rep.id, role="owner")
        world.reps[label] = rep.id
    async with hub.db.transaction() as session:
        for label, territory in (("c_a", "A"), ("c_a1", "A1"), ("c_b", "B")):
            session.add(
                CustomerTerritory(
                    hub_customer_id=world.customers[label],
                    territory_id=world.territories[territory],
                    manual=True,
                    created_by="world-builder",
                    updated_by="world-builder",
                )
            )
    world.needs.update(
        {"c_a": frozenset({"A"}), "c_a1": frozenset({"A1"}), "c_b": frozenset({"B"}), "c_free": frozenset()}
    )

    for label, territory, name in (
        ("lead_a", "A", "Anna Alfa"),
        ("lead_b", "B", "Bogdan Brzeczyszczykiewicz"),
        ("lead_free", None, "Frida Free"),
    ):
        fields: dict[str, Any] = {"name": name, "company": f"{name} Ltd", "email": f"{label}@leads.example"}
        if territory:
            fields["territory_id"] = world.territories[territory]
        world.leads[label] = (await leads.create_lead(ctx, fields=fields)).lead.id
        world.needs[label] = frozenset({territory}) if territory else frozenset()

    for label, customer, territory in (
        ("opp_a", "c_a", "A"),
        ("opp_a1", "c_a1", "A1"),
        ("opp_b", "c_b", "B"),
        ("opp_x", "c_a", "B"),  # a B deal on an A customer
    ):
        opportunity = await opportunities.create_opportunity(
            ctx,
            fields={
                "customer_id": world.customers[customer],
                "name": f"Deal {label}",
                "amount": "1000.00",
                "currency": "EUR",
                "stage": "Prospecting",
                "close_date": dt.date(2030, 1, 1),
                "territory_id": world.territories[territory],
            },
        )
        world.opportunities[label] = opportunity.id
        world.needs[label] = frozenset({territory})

    rep_a = world.reps["rep_a"]
    for label, links, needs in (
        ("act_a", {"customer_id": world.customers["c_a"], "type": "task", "owner_id": rep_a}, {"A"}),
        ("act_b", {"customer_id": world.customers["c_b"], "type": "call"}, {"B"}),
        ("act_lead_b", {"lead_id": world.leads["lead_b"], "type": "email"}, {"B"}),
        (
            "act_x",
            {"opportunity_id": world.opportunities["opp_x"], "type": "task", "owner_id": rep_a},
            {"A", "B"},
        ),
    ):
        activity = await activities.create_activity(ctx, fields={"subject": f"Subject {label}", **links})
        world.activities[label] = activity.id
        world.needs[label] = frozenset(needs)
    for label, opportunity, needs in (
        ("note_a", "opp_a", {"A"}),
        ("note_b", "opp_b", {"B"}),
        ("note_x", "opp_x", {"A", "B"}),
    ):
        note = await competitors.create_competitor_note(
            ctx, fields={"competitor": f"Rival {label}", "opportunity_id": world.opportunities[opportunity]}
        )
        world.notes[label] = note.id
        world.needs[label] = frozenset(needs)


async def _issue_tokens(world: World) -> None:
    hub, config = world.hub, world.hub.settings.security

    async def key(role: str, **binding: Any) -> str:
        return (
            await create_api_key(hub.db, config, role=role, actor="tests", name=f"matrix {role}", **binding)
        ).key

    world.tokens = {
        "admin": await key("admin"),
        "sales_manager": await key("sales_manager"),
        "rep_a": await key("sales_rep", rep_id=world.reps["rep_a"]),  # scope through the rep's membership
        "rep_b": await key("sales_rep", territories=["Malopolskie"]),  # scope through a bound territory
        "support_agent": await key("support_agent"),
        "finance": await key("finance"),
        "bi_reader": await key("bi_reader"),
        "jwt_rep_a": hs256_token(
            {"sub": "anna", "crmhub_role": "sales_rep", "crmhub_territories": [world.territories["A"]]}
        ),
        "no_key": None,
        "expired_jwt": hs256_token({"sub": "late", "crmhub_role": "admin"}, expires_in=-3600),
    }
    revoked = await create_api_key(hub.db, config, role="admin", actor="tests", name="matrix revoked")
    await revoke_api_key(hub.db, revoked.record.id, actor="tests")
    world.tokens["revoked_key"] = revoked.key


def security_config(**overrides: Any) -> dict[str, Any]:
    return {
        "jwt": {
            "issuer": JWT_ISSUER,
            "audience": JWT_AUDIENCE,
            "algorithms": ["HS256"],
            "hs256_secret": JWT_SECRET,
        },
        "rate_limit": {"requests": 100_000},
        **overrides,
    }


@asynccontextmanager
async def security_world(directory: Path, erp_sqlite: Path, **security: Any) -> AsyncIterator[World]:
    write_books(directory, erp_sqlite)
    config = {
        "database_url": f"sqlite+aiosqlite:///{directory / 'hub.sqlite'}",
        "identity": {"seed_sources": ["erp"]},
        "sources": [
            erp_source(f"sqlite+aiosqlite:///{erp_sqlite}"),
            {
                "name": "books",
                "adapter": "sql",
                "config": {
                    "url": f"sqlite+aiosqlite:///{directory / 'books.sqlite'}",
                    "mapping": "books.yaml",
                },
            },
        ],
        "security": security_config(**security),
    }
    path = directory / "crmhub.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    hub = await Hub.start(load_settings(path))
    try:
        await seed_identity_map(hub)
        await _link_books(hub)
        world = World(hub)
        await _build_crm(world)
        await _issue_tokens(world)
        yield world
    finally:
        await hub.aclose()


@asynccontextmanager
async def plain_hub(
    directory: Path, *, security: dict[str, Any] | None = None, **extra: Any
) -> AsyncIterator[Hub]:
    """A hub with no sources (its own database only), configured with ``security`` and ``extra``."""
    body = {"database_url": f"sqlite+aiosqlite:///{directory / 'hub.sqlite'}", **extra}
    if security is not None:
        body["security"] = security
    path = directory / "crmhub.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    hub = await Hub.start(load_settings(path))
    try:
        yield hub
    finally:
        await hub.aclose()


async def issue(hub: Hub, role: str, **binding: Any) -> str:
    """A fresh API key of ``role``."""
    issued = await create_api_key(
        hub.db, hub.settings.security, role=role, actor="tests", name=f"t {role}", **binding
    )
    return issued.key


def leaks(world: World, scope: frozenset[str] | None, *, finance: bool, text: str) -> list[str]:
    """Out-of-scope record ids (and, without ``finance``, invoice numbers) found in a response's text."""
    found = []
    for table in (world.customers, world.leads, world.opportunities, world.activities, world.notes):
        for label, record_id in table.items():
            if not world.visible(label, scope) and record_id in text:
                found.append(label)
    if not finance and INVOICE_MARK in text:
        found.append("an invoice number")
    return found
