"""security: API keys (stored hashed) and the audit log of mutations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "security_api_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("territories", sa.JSON, nullable=False),
        sa.Column("rep_id", sa.String(40)),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("expires_at", _TS),
        sa.Column("revoked_at", _TS),
        sa.Column("revoked_by", sa.String(200)),
    )
    op.create_table(
        "security_audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("principal_id", sa.String(300), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("operation", sa.String(100), nullable=False),
        sa.Column("entity", sa.String(60)),
        sa.Column("entity_id", sa.String(200)),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(500)),
    )
    op.create_index("ix_security_audit_log_occurred", "security_audit_log", ["occurred_at", "id"])
    op.create_index("ix_security_audit_log_entity", "security_audit_log", ["entity", "entity_id"])


def downgrade() -> None:
    op.drop_index("ix_security_audit_log_entity", table_name="security_audit_log")
    op.drop_index("ix_security_audit_log_occurred", table_name="security_audit_log")
    op.drop_table("security_audit_log")
    op.drop_table("security_api_keys")
