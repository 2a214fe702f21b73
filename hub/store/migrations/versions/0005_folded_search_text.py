"""customer search text folded (lower case, no diacritics), so searches match whatever accents are typed

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

Data only: every hub customer's ``search_text`` is rewritten the way the hub now writes it. The downgrade
keeps the folded text, which the earlier code searches as well (it only lower-cased the term).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.identity.normalize import search_text

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: Customers read and rewritten per round trip.
_BATCH = 1000

_customers = sa.table("hub_customers", sa.column("id", sa.String), sa.column("search_text", sa.String))


def upgrade() -> None:
    connection = op.get_bind()
    last_id = ""
    while True:
        rows = connection.execute(
            sa.select(_customers.c.id, _customers.c.search_text)
            .where(_customers.c.id > last_id)
            .order_by(_customers.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        changed = [
            {"row_id": row.id, "folded": folded}
            for row in rows
            if (folded := search_text([row.search_text])) != row.search_text
        ]
        if changed:
            connection.execute(
                _customers.update()
                .where(_customers.c.id == sa.bindparam("row_id"))
                .values(search_text=sa.bindparam("folded")),
                changed,
            )


def downgrade() -> None:
    pass
