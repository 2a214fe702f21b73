"""``crmhub keys``: create, list and revoke API keys from the command line (the administrator's way in
before any key exists)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import getpass
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from hub.config import HubSettings, load_settings
from hub.errors import ConfigError, HubError
from hub.store import Database

from .api_keys import create_api_key, key_state, list_api_keys, revoke_api_key
from .audit import record_audit
from .principal import SYSTEM, Principal

T = TypeVar("T")
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="CRMHUB_CONFIG", help="Path of crmhub.yaml.", show_default=True),
]


def _cli_principal() -> Principal:
    """Whoever runs the command: the audit log names their operating-system account."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in containers without a passwd entry
        user = "unknown"
    return dataclasses.replace(SYSTEM, id=f"cli:{user}", name=f"cli:{user}", role="admin")


def _with_database(config: Path, work: Callable[[HubSettings, Database], Awaitable[T]]) -> T:
    async def run() -> T:
        settings = load_settings(config)
        db = Database(settings.database_url)
        try:
            await db.migrate()
            return await work(settings, db)
        finally:
            await db.aclose()

    try:
        return asyncio.run(run())
    except ConfigError as exc:
        typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from None
    except HubError as exc:
        where = f" ({exc.field})" if exc.field else ""
        typer.secho(f"error{where}: {exc.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from None


@keys_app.command("create")
def create(
    role: Annotated[str, typer.Option(help="The role of the key (one of security.roles).")],
    territory: Annotated[
        list[str] | None,
        typer.Option("--territory", "-t", help="Bind to a territory (id or name); repeatable."),
    ] = None,
    rep: Annotated[
        str | None, typer.Option(help="Act for this sales rep (id): their territories are in scope.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Who or what uses the key; the actor of its writes.")
    ] = None,
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="Expire after this many days.")
    ] = None,
    config: ConfigOption = Path("crmhub.yaml"),
) -> None:
    """Create a key and print it (once: only its hash is stored)."""
    principal = _cli_principal()
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_in_days) if expires_in_days else None

    async def work(settings: HubSettings, db: Database) -> str:
        issued = await create_api_key(
            db,
            settings.security,
            role=role,
            actor=principal.name,
            name=name,
            territories=territory or [],
            rep_id=rep,
            expires_at=expires,
        )
        await record_audit(
            db,
            principal=principal,
            operation="keys create",
            outcome="ok",
            entity="api_key",
            entity_id=issued.record.id,
        )
        record = issued.record
        scope = ", ".join(record.territories) or "-"
        typer.echo(f"id:          {record.id}\nrole:        {record.role}\nterritories: {scope}")
        typer.echo(f"rep:         {record.rep_id or '-'}\nname:        {record.name}")
        return issued.key

    key = _with_database(config, work)
    typer.secho(f"key:         {key}", fg=typer.colors.GREEN)
    typer.echo("Store it now: it is shown only this once. Send it as `Authorization: Bearer <key>`.")


@keys_app.command("list")
def list_keys(
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    config: ConfigOption = Path("crmhub.yaml"),
) -> None:
    """List keys (never the keys themselves: their first characters)."""

    async def work(settings: HubSettings, db: Database) -> None:
        rows = await list_api_keys(db, include_revoked=all_keys)
        if not rows:
            typer.echo("no API keys")
        for row in rows:
            bound = ",".join(row.territories or []) or row.rep_id or "-"
            typer.echo(
                f"{row.id:<32} {row.prefix}...  {row.role:<14} {key_state(row):<8} {bound:<30} {row.name}"
            )

    _with_database(config, work)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (see `crmhub keys list`).")],
    config: ConfigOption = Path("crmhub.yaml"),
) -> None:
    """Revoke a key; it stops working at once."""
    principal = _cli_principal()

    async def work(settings: HubSettings, db: Database) -> None:
        row = await revoke_api_key(db, key_id, actor=principal.name)
        await record_audit(
            db,
            principal=principal,
            operation="keys revoke",
            outcome="ok",
            entity="api_key",
            entity_id=row.id,
        )

    _with_database(config, work)
    typer.echo(f"revoked {key_id}")
