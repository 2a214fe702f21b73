"""identity resolution: record profiles with their match evidence, manual decisions, run watermarks, runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "identity_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(300), nullable=False, server_default=""),
        sa.Column("country", sa.String(2)),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("upstream_updated_at", _TS),
        sa.Column("seen_at", _TS, nullable=False),
        sa.Column("matched_source", sa.String(40)),
        sa.Column("matched_entity", sa.String(40)),
        sa.Column("matched_external_id", sa.String(200)),
        sa.Column("rule", sa.String(100)),
        sa.Column("score", sa.Float),
        sa.Column("evidence", sa.JSON),
        sa.UniqueConstraint("source", "entity", "external_id", name="uq_identity_records_record"),
    )
    op.create_table(
        "identity_decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("other_ids", sa.JSON, nullable=False),
        sa.Column("records", sa.JSON, nullable=False),
        sa.Column("counterpart", sa.JSON, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False, server_default="anonymous"),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_identity_decisions_customer_id", "identity_decisions", ["customer_id"])
    op.create_table(
        "identity_watermarks",
        sa.Column("source", sa.String(40), primary_key=True),
        sa.Column("entity", sa.String(40), primary_key=True),
        sa.Column("watermark", _TS),
        sa.Column("last_run_at", _TS, nullable=False),
        sa.Column("records_read", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "identity_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS),
        sa.Column("full", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(20), nullable=False, server_default="running"),
        sa.Column("fingerprint", sa.String(64), nullable=False, server_default=""),
        sa.Column("summary", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("identity_runs")
    op.drop_table("identity_watermarks")
    op.drop_index("ix_identity_decisions_customer_id", table_name="identity_decisions")
    op.drop_table("identity_decisions")
    op.drop_table("identity_records")
