"""lead search text: name, company and e-mail folded, so lead search ignores case, accents and spacing

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.identity.normalize import search_text

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: Leads read and written per round trip.
_BATCH = 1000

_leads = sa.table(
    "crm_leads",
    sa.column("id", sa.String),
    sa.column("name", sa.String),
    sa.column("company", sa.String),
    sa.column("email", sa.String),
    sa.column("search_text", sa.String),
)


def upgrade() -> None:
    op.add_column("crm_leads", sa.Column("search_text", sa.String(1000), nullable=False, server_default=""))
    connection = op.get_bind()
    last_id = ""
    while True:
        rows = connection.execute(
            sa.select(_leads.c.id, _leads.c.name, _leads.c.company, _leads.c.email)
            .where(_leads.c.id > last_id)
            .order_by(_leads.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        connection.execute(
            _leads.update()
            .where(_leads.c.id == sa.bindparam("row_id"))
            .values(search_text=sa.bindparam("text")),
            [{"row_id": row.id, "text": search_text([row.name, row.company, row.email])} for row in rows],
        )


def downgrade() -> None:
    with op.batch_alter_table("crm_leads") as batch:
        batch.drop_column("search_text")
