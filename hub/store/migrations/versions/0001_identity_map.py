"""identity map: hub customers and their links to silo records

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_customers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("display_name", sa.String(300), nullable=False, server_default=""),
        sa.Column("search_text", sa.String(1000), nullable=False, server_default=""),
        sa.Column("country", sa.String(2)),
        sa.Column("merged_into", sa.String(40), sa.ForeignKey("hub_customers.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_hub_customers_listing", "hub_customers", ["merged_into", "display_name", "id"])
    op.create_table(
        "customer_links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "hub_customer_id",
            sa.String(40),
            sa.ForeignKey("hub_customers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False, server_default="customer"),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("score", sa.Float, nullable=False, server_default="1"),
        sa.Column("manual", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source", "entity", "external_id", name="uq_customer_links_record"),
    )
    op.create_index("ix_customer_links_hub_customer_id", "customer_links", ["hub_customer_id"])


def downgrade() -> None:
    op.drop_table("customer_links")
    op.drop_table("hub_customers")
