"""API keys for ``crmhub demo``: one per sample role, new on every start (the previous demo keys are
revoked), printed on the console with GraphiQL links that pre-fill the ``Authorization`` header.

``CRMHUB_DEMO_ADMIN_KEY`` fixes the administrator's key, so scripts can drive the demo.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

import typer
from sqlalchemy import func, select

from hub.crm.models import CustomerTerritory, SalesRep, Territory, TerritoryMember

from .api_keys import create_api_key, find_api_key, key_state, list_api_keys, revoke_api_key

if TYPE_CHECKING:
    from hub.hub import Hub

ADMIN_KEY_ENV = "CRMHUB_DEMO_ADMIN_KEY"
DEMO_NAME = "demo {role}"
ACTOR = "demo"


@dataclass(frozen=True, slots=True)
class DemoKey:
    role: str
    key: str
    scope: str


async def _busiest_rep(hub: Hub) -> tuple[str, str] | None:
    """The owner of the state or country with the most customers, and that territory's name."""
    async with hub.db.session() as session:
        row = (
            await session.execute(
                select(Territory.name, TerritoryMember.rep_id)
                .join(CustomerTerritory, CustomerTerritory.territory_id == Territory.id)
                .join(TerritoryMember, TerritoryMember.territory_id == Territory.id)
                .join(SalesRep, SalesRep.id == TerritoryMember.rep_id)
                .where(Territory.type != "region", SalesRep.active.is_(True))
                .group_by(Territory.name, TerritoryMember.rep_id)
                .order_by(func.count().desc(), Territory.name)
                .limit(1)
            )
        ).first()
    return (row[0], row[1]) if row else None


async def issue_demo_keys(hub: Hub, *, admin_key: str | None = None) -> list[DemoKey]:
    """Revoke the previous demo keys and issue one per configured role (``admin_key`` for admin)."""
    config = hub.settings.security
    kept = await find_api_key(hub.db, admin_key) if admin_key else None
    for row in await list_api_keys(hub.db):
        if row.created_by == ACTOR and (kept is None or row.id != kept.id):
            await revoke_api_key(hub.db, row.id, actor=ACTOR)
    rep = await _busiest_rep(hub)
    issued = []
    for role, role_config in config.roles.items():
        name = DEMO_NAME.format(role=role)
        if role == "admin" and kept is not None and key_state(kept) == "active" and kept.role == "admin":
            issued.append(DemoKey(role, str(admin_key), "every record"))
            continue
        if role_config.rows == "territory":
            if rep is None:
                continue  # no territory has customers yet: nothing such a key could see
            territory, rep_id = rep
            new = await create_api_key(hub.db, config, role=role, actor=ACTOR, name=name, rep_id=rep_id)
            issued.append(DemoKey(role, new.key, f"the territories of rep {rep_id}, e.g. {territory}"))
            continue
        given = admin_key if role == "admin" else None
        new = await create_api_key(hub.db, config, role=role, actor=ACTOR, name=name, key=given)
        issued.append(DemoKey(role, new.key, "every record"))
    return issued


def graphiql_link(base_url: str, key: str) -> str:
    """GraphiQL with its headers editor pre-filled (strawberry's page reads ``?headers=``)."""
    return f"{base_url}/graphql?headers={quote(json.dumps({'Authorization': f'Bearer {key}'}))}"


def print_demo_keys(keys: list[DemoKey], base_url: str) -> None:
    typer.echo("\nAPI keys (one per role; new on every start; send as `Authorization: Bearer <key>`):")
    for demo in keys:
        typer.echo(f"  {demo.role:<14} {demo.key}   ({demo.scope})")
    typer.echo(
        '\nIn GraphiQL, paste a key into the Headers tab as {"Authorization": "Bearer <key>"}, '
        "or open a link with the header already filled in:"
    )
    for demo in keys:
        typer.echo(f"  {demo.role:<14} {graphiql_link(base_url, demo.key)}")
    if not os.environ.get(ADMIN_KEY_ENV):
        typer.echo(f"(set {ADMIN_KEY_ENV} to choose the admin key, e.g. for scripts)")
