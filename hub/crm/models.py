"""SQLAlchemy models of the CRM side of the hub: sales reps, territories and their rules, leads,
opportunities, competitor notes, activities and the event log the timeline reads.

Every entity carries who created and last changed it, when, and an integer ``version`` for optimistic
concurrency (see ``hub.crm.versioning``). Money is stored in hundredths as integers (``*_minor``): SQLite
has no decimal type, and integer sums stay exact on both backends.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base

from .types import UtcDateTime, utcnow


class Audited:
    """Who and when, and the version every update must name."""

    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="system")
    updated_by: Mapped[str] = mapped_column(String(200), default="system")
    version: Mapped[int] = mapped_column(Integer, default=1)


class SalesRep(Audited, Base):
    __tablename__ = "crm_sales_reps"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Key of the record this rep was imported from (e.g. ``erp:employee:5``), so imports stay idempotent.
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class Territory(Audited, Base):
    __tablename__ = "crm_territories"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(30))
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("crm_territories.id", ondelete="RESTRICT"), index=True
    )
    description: Mapped[str | None] = mapped_column(Text)
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class TerritoryRule(Audited, Base):
    __tablename__ = "crm_territory_rules"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    territory_id: Mapped[str] = mapped_column(
        ForeignKey("crm_territories.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    #: Lower numbers are evaluated first; the first matching rule wins.
    priority: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: "AND" or "OR" over the conditions, unless ``expression`` ("(1 AND 2) OR 3") says otherwise.
    logic: Mapped[str] = mapped_column(String(3), default="AND")
    expression: Mapped[str | None] = mapped_column(String(500))
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class TerritoryMember(Audited, Base):
    __tablename__ = "crm_territory_members"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    territory_id: Mapped[str] = mapped_column(
        ForeignKey("crm_territories.id", ondelete="CASCADE"), index=True
    )
    rep_id: Mapped[str] = mapped_column(ForeignKey("crm_sales_reps.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))

    __table_args__ = (UniqueConstraint("territory_id", "rep_id", name="uq_crm_territory_members_rep"),)


class CustomerTerritory(Audited, Base):
    """The territory of a hub customer: set by the rules, or by hand (``manual``), which rules never undo."""

    __tablename__ = "crm_customer_territories"

    hub_customer_id: Mapped[str] = mapped_column(
        ForeignKey("hub_customers.id", ondelete="CASCADE"), primary_key=True
    )
    territory_id: Mapped[str] = mapped_column(
        ForeignKey("crm_territories.id", ondelete="CASCADE"), index=True
    )
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    rule_id: Mapped[str | None] = mapped_column(ForeignKey("crm_territory_rules.id", ondelete="SET NULL"))


class CrmCustomerProfile(Audited, Base):
    """What the CRM knows about a customer beyond the silos (filled by lead conversion)."""

    __tablename__ = "crm_customer_profiles"

    hub_customer_id: Mapped[str] = mapped_column(
        ForeignKey("hub_customers.id", ondelete="CASCADE"), primary_key=True
    )
    company: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    website: Mapped[str | None] = mapped_column(String(300))
    industry: Mapped[str | None] = mapped_column(String(100))
    street: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    annual_revenue_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))


class OpportunityStage(Audited, Base):
    """One step of the sales pipeline; the list is data, seeded with defaults by the migration."""

    __tablename__ = "crm_stages"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    probability: Mapped[int] = mapped_column(Integer)
    forecast_category: Mapped[str] = mapped_column(String(20))
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    is_won: Mapped[bool] = mapped_column(Boolean, default=False)


class Lead(Audited, Base):
    __tablename__ = "crm_leads"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    email_domain: Mapped[str | None] = mapped_column(String(255), index=True)
    phone: Mapped[str | None] = mapped_column(String(50))
    #: The phone's last digits, to find the same number written differently.
    phone_key: Mapped[str | None] = mapped_column(String(20), index=True)
    website: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True)
    rating: Mapped[str | None] = mapped_column(String(10))
    owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("crm_sales_reps.id", ondelete="SET NULL"), index=True
    )
    territory_id: Mapped[str | None] = mapped_column(
        ForeignKey("crm_territories.id", ondelete="SET NULL"), index=True
    )
    #: Set by hand: territory assignment runs keep it.
    territory_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    expected_revenue_minor: Mapped[int | None] = mapped_column(BigInteger)
    annual_revenue_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    disqualification_reason: Mapped[str | None] = mapped_column(String(500))
    street: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    industry: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    converted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    converted_customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("hub_customers.id", ondelete="SET NULL"), index=True
    )
    #: No foreign key: opportunities point back at their lead, and a cycle of keys helps nobody.
    converted_opportunity_id: Mapped[str | None] = mapped_column(String(40))
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: Name, company and e-mail folded (lower case, no diacritics): what lead search looks in.
    search_text: Mapped[str] = mapped_column(String(1000), default="", server_default="")

    __table_args__ = (Index("ix_crm_leads_listing", "created_at", "id"),)


class Opportunity(Audited, Base):
    __tablename__ = "crm_opportunities"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("hub_customers.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    stage: Mapped[str] = mapped_column(ForeignKey("crm_stages.name", ondelete="RESTRICT"), index=True)
    probability: Mapped[int] = mapped_column(Integer)
    close_date: Mapped[dt.date] = mapped_column(Date)
    forecast_category: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("crm_sales_reps.id", ondelete="SET NULL"), index=True
    )
    territory_id: Mapped[str | None] = mapped_column(
        ForeignKey("crm_territories.id", ondelete="SET NULL"), index=True
    )
    lost_reason: Mapped[str | None] = mapped_column(String(500))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("crm_leads.id", ondelete="SET NULL"), index=True)
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class CompetitorNote(Audited, Base):
    __tablename__ = "crm_competitor_notes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    competitor: Mapped[str] = mapped_column(String(200))
    #: Case- and space-insensitive form of ``competitor`` that the summary groups by.
    competitor_key: Mapped[str] = mapped_column(String(200), index=True)
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("hub_customers.id", ondelete="CASCADE"), index=True
    )
    opportunity_id: Mapped[str | None] = mapped_column(
        ForeignKey("crm_opportunities.id", ondelete="CASCADE"), index=True
    )
    strengths: Mapped[str | None] = mapped_column(String(1000))
    weaknesses: Mapped[str | None] = mapped_column(String(1000))
    observed_price_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    outcome: Mapped[str] = mapped_column(String(10), default="unknown")
    author: Mapped[str] = mapped_column(String(200))
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class Activity(Audited, Base):
    __tablename__ = "crm_activities"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("crm_sales_reps.id", ondelete="SET NULL"))
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("hub_customers.id", ondelete="CASCADE"), index=True
    )
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("crm_leads.id", ondelete="CASCADE"), index=True)
    opportunity_id: Mapped[str | None] = mapped_column(
        ForeignKey("crm_opportunities.id", ondelete="CASCADE"), index=True
    )
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)

    __table_args__ = (Index("ix_crm_activities_call_queue", "owner_id", "type", "done", "due_at"),)


class CrmEvent(Base):
    """An append-only log of what happened to leads and opportunities; rows are never updated."""

    __tablename__ = "crm_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: ``lead.created``, ``opportunity.stage_changed``, ``opportunity.won`` ...
    kind: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("hub_customers.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))

    __table_args__ = (Index("ix_crm_events_subject", "subject_type", "subject_id"),)
