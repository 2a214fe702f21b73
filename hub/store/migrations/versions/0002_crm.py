"""crm: sales reps, territories and rules, leads, opportunities and stages, competitor notes, activities,
the customer-side CRM profile and territory, and the event log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)

DEFAULT_STAGES = (
    # name, position, probability, forecast category, closed, won
    ("Prospecting", 10, 10, "Pipeline", False, False),
    ("Qualification", 20, 20, "Pipeline", False, False),
    ("Proposal", 30, 50, "Best Case", False, False),
    ("Negotiation", 40, 75, "Commit", False, False),
    ("Closed Won", 50, 100, "Closed", True, True),
    ("Closed Lost", 60, 0, "Omitted", True, False),
)


def _audit() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    ]


def _fk(column: str, target: str, ondelete: str, *, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(column, sa.String(40), sa.ForeignKey(target, ondelete=ondelete), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "crm_sales_reps",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("external_key", sa.String(200), unique=True),
        *_audit(),
    )
    op.create_table(
        "crm_territories",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("type", sa.String(30), nullable=False),
        _fk("parent_id", "crm_territories.id", "RESTRICT"),
        sa.Column("description", sa.Text),
        sa.Column("external_key", sa.String(200), unique=True),
        *_audit(),
    )
    op.create_index("ix_crm_territories_parent_id", "crm_territories", ["parent_id"])
    op.create_table(
        "crm_territory_rules",
        sa.Column("id", sa.String(40), primary_key=True),
        _fk("territory_id", "crm_territories.id", "CASCADE", nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False, server_default="100"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("logic", sa.String(3), nullable=False, server_default="AND"),
        sa.Column("expression", sa.String(500)),
        sa.Column("conditions", sa.JSON, nullable=False),
        sa.Column("external_key", sa.String(200), unique=True),
        *_audit(),
    )
    op.create_index("ix_crm_territory_rules_territory_id", "crm_territory_rules", ["territory_id"])
    op.create_table(
        "crm_territory_members",
        sa.Column("id", sa.String(40), primary_key=True),
        _fk("territory_id", "crm_territories.id", "CASCADE", nullable=False),
        _fk("rep_id", "crm_sales_reps.id", "CASCADE", nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        *_audit(),
        sa.UniqueConstraint("territory_id", "rep_id", name="uq_crm_territory_members_rep"),
    )
    op.create_index("ix_crm_territory_members_territory_id", "crm_territory_members", ["territory_id"])
    op.create_index("ix_crm_territory_members_rep_id", "crm_territory_members", ["rep_id"])
    op.create_table(
        "crm_customer_territories",
        sa.Column(
            "hub_customer_id",
            sa.String(40),
            sa.ForeignKey("hub_customers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        _fk("territory_id", "crm_territories.id", "CASCADE", nullable=False),
        sa.Column("manual", sa.Boolean, nullable=False, server_default=sa.false()),
        _fk("rule_id", "crm_territory_rules.id", "SET NULL"),
        *_audit(),
    )
    op.create_index("ix_crm_customer_territories_territory_id", "crm_customer_territories", ["territory_id"])
    op.create_table(
        "crm_customer_profiles",
        sa.Column(
            "hub_customer_id",
            sa.String(40),
            sa.ForeignKey("hub_customers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("company", sa.String(300)),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(50)),
        sa.Column("website", sa.String(300)),
        sa.Column("industry", sa.String(100)),
        sa.Column("street", sa.String(300)),
        sa.Column("city", sa.String(100)),
        sa.Column("postal_code", sa.String(20)),
        sa.Column("region", sa.String(100)),
        sa.Column("country", sa.String(2)),
        sa.Column("annual_revenue_minor", sa.BigInteger),
        sa.Column("currency", sa.String(3)),
        *_audit(),
    )
    stages = op.create_table(
        "crm_stages",
        sa.Column("name", sa.String(60), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("probability", sa.Integer, nullable=False),
        sa.Column("forecast_category", sa.String(20), nullable=False),
        sa.Column("is_closed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("is_won", sa.Boolean, nullable=False, server_default=sa.false()),
        *_audit(),
    )
    now = dt.datetime.now(dt.UTC)
    op.bulk_insert(
        stages,
        [
            {
                "name": name,
                "position": position,
                "probability": probability,
                "forecast_category": forecast,
                "is_closed": closed,
                "is_won": won,
                "created_at": now,
                "updated_at": now,
                "created_by": "system",
                "updated_by": "system",
                "version": 1,
            }
            for name, position, probability, forecast, closed, won in DEFAULT_STAGES
        ],
    )
    op.create_table(
        "crm_leads",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("company", sa.String(300)),
        sa.Column("title", sa.String(200)),
        sa.Column("email", sa.String(320)),
        sa.Column("email_domain", sa.String(255)),
        sa.Column("phone", sa.String(50)),
        sa.Column("phone_key", sa.String(20)),
        sa.Column("website", sa.String(300)),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rating", sa.String(10)),
        _fk("owner_id", "crm_sales_reps.id", "SET NULL"),
        _fk("territory_id", "crm_territories.id", "SET NULL"),
        sa.Column("territory_manual", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("expected_revenue_minor", sa.BigInteger),
        sa.Column("annual_revenue_minor", sa.BigInteger),
        sa.Column("currency", sa.String(3)),
        sa.Column("disqualification_reason", sa.String(500)),
        sa.Column("street", sa.String(300)),
        sa.Column("city", sa.String(100)),
        sa.Column("postal_code", sa.String(20)),
        sa.Column("region", sa.String(100)),
        sa.Column("country", sa.String(2)),
        sa.Column("industry", sa.String(100)),
        sa.Column("description", sa.Text),
        sa.Column("converted_at", _TS),
        _fk("converted_customer_id", "hub_customers.id", "SET NULL"),
        sa.Column("converted_opportunity_id", sa.String(40)),
        sa.Column("external_key", sa.String(200), unique=True),
        *_audit(),
    )
    for column in ("email", "email_domain", "phone_key", "status", "owner_id", "territory_id"):
        op.create_index(f"ix_crm_leads_{column}", "crm_leads", [column])
    op.create_index("ix_crm_leads_converted_customer_id", "crm_leads", ["converted_customer_id"])
    op.create_index("ix_crm_leads_listing", "crm_leads", ["created_at", "id"])
    op.create_table(
        "crm_opportunities",
        sa.Column("id", sa.String(40), primary_key=True),
        _fk("customer_id", "hub_customers.id", "RESTRICT", nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column(
            "stage", sa.String(60), sa.ForeignKey("crm_stages.name", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column("probability", sa.Integer, nullable=False),
        sa.Column("close_date", sa.Date, nullable=False),
        sa.Column("forecast_category", sa.String(20), nullable=False),
        _fk("owner_id", "crm_sales_reps.id", "SET NULL"),
        _fk("territory_id", "crm_territories.id", "SET NULL"),
        sa.Column("lost_reason", sa.String(500)),
        sa.Column("closed_at", _TS),
        _fk("lead_id", "crm_leads.id", "SET NULL"),
        sa.Column("external_key", sa.String(200), unique=True),
        *_audit(),
    )
    for column in ("customer_id", "stage", "owner_id", "territory_id", "lead_id"):
        op.create_index(f"ix_crm_opportunities_{column}", "crm_opportunities", [column])
    op.create_table(
        "crm_competitor_notes",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("competitor", sa.String(200), nullable=False),
        sa.Column("competitor_key", sa.String(200), nullable=False),
        _fk("customer_id", "hub_customers.id", "CASCADE"),
        _fk("opportunity_id", "crm_opportunities.id", "CASCADE"),
        sa.Column("strengths", sa.String(1000)),
        sa.Column("weaknesses", sa.String(1000)),
        sa.Column("observed_price_minor", sa.BigInteger),
        sa.Column("currency", sa.String(3)),
        sa.Column("outcome", sa.String(10), nullable=False, server_default="unknown"),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("external_key", sa.String(200), unique=True),
        *_audit(),
    )
    for column in ("competitor_key", "customer_id", "opportunity_id"):
        op.create_index(f"ix_crm_competitor_notes_{column}", "crm_competitor_notes", [column])
    op.create_table(
        "crm_activities",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("type", sa.String(10), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("due_at", _TS),
        sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("completed_at", _TS),
        _fk("owner_id", "crm_sales_reps.id", "SET NULL"),
        _fk("customer_id", "hub_customers.id", "CASCADE"),
        _fk("lead_id", "crm_leads.id", "CASCADE"),
        _fk("opportunity_id", "crm_opportunities.id", "CASCADE"),
        sa.Column("external_key", sa.String(200), unique=True),
        *_audit(),
    )
    for column in ("customer_id", "lead_id", "opportunity_id"):
        op.create_index(f"ix_crm_activities_{column}", "crm_activities", [column])
    op.create_index("ix_crm_activities_call_queue", "crm_activities", ["owner_id", "type", "done", "due_at"])
    op.create_table(
        "crm_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("subject_type", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(40), nullable=False),
        _fk("customer_id", "hub_customers.id", "CASCADE"),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("amount_minor", sa.BigInteger),
        sa.Column("currency", sa.String(3)),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
    )
    op.create_index("ix_crm_events_customer_id", "crm_events", ["customer_id"])
    op.create_index("ix_crm_events_subject", "crm_events", ["subject_type", "subject_id"])


def downgrade() -> None:
    for table in (
        "crm_events",
        "crm_activities",
        "crm_competitor_notes",
        "crm_opportunities",
        "crm_leads",
        "crm_stages",
        "crm_customer_profiles",
        "crm_customer_territories",
        "crm_territory_members",
        "crm_territory_rules",
        "crm_territories",
        "crm_sales_reps",
    ):
        op.drop_table(table)
