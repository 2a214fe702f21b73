"""The ``crmhub`` command line."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from adapters.sdk import AdapterError

from .config import load_settings
from .errors import ConfigError
from .security.cli import keys_app

app = typer.Typer(
    help="crmhub: one GraphQL customer 360 over your ERP, accounting, support and marketing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
sources_app = typer.Typer(help="Inspect the configured sources.", no_args_is_help=True)
identity_app = typer.Typer(help="Maintain the identity map.", no_args_is_help=True)
db_app = typer.Typer(help="The hub's own database.", no_args_is_help=True)
adapter_app = typer.Typer(help="Write adapters of your own.", no_args_is_help=True)
hooks_app = typer.Typer(help="Send change notifications to a running hub.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
app.add_typer(identity_app, name="identity")
app.add_typer(db_app, name="db")
app.add_typer(adapter_app, name="adapter")
app.add_typer(keys_app, name="keys")
app.add_typer(hooks_app, name="hooks")

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="CRMHUB_CONFIG", help="Path of crmhub.yaml.", show_default=True),
]
HostOption = Annotated[str, typer.Option(help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)]


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


def _run(coro: object) -> object:
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise _fail(exc.message) from None
    except AdapterError as exc:
        raise _fail(str(exc)) from None


@app.command()
def serve(
    config: ConfigOption = Path("crmhub.yaml"),
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
) -> None:
    """Serve the GraphQL API (GraphiQL at /graphql) with uvicorn."""
    import uvicorn

    from .app import create_app

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"crmhub serving http://{host}:{port}/graphql")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command()
def demo(
    data_dir: Annotated[
        Path, typer.Option(help="Where the demo keeps its data (created if missing).")
    ] = Path("crmhub-demo"),
    size: Annotated[int, typer.Option(help="Number of generated ERP customers.", min=1, max=1_000_000)] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the data generator.")] = 42,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
) -> None:
    """Generate demo silos, start them in-process with the hub, and serve GraphiQL."""
    from adapters.sdk.asgi_server import listening_socket

    from .demo import run_demo

    try:
        sock = listening_socket(host, port)  # before any data is generated: a port in use fails at once
    except OSError as exc:
        raise _fail(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another port with --port"
        ) from None
    _run(run_demo(data_dir=data_dir.resolve(), size=size, seed=seed, sock=sock))


@sources_app.command("check")
def sources_check(config: ConfigOption = Path("crmhub.yaml")) -> None:
    """Probe every source and print its health; exits 1 when one is down."""
    from .hub import Hub

    async def check() -> bool:
        hub = await Hub.from_file(config)
        try:
            statuses = await hub.sources.check()
        finally:
            await hub.aclose()
        for status in statuses:
            state = "up" if status.health.ok else "DOWN"
            detail = f"  ({status.health.detail})" if status.health.detail else ""
            latency = f"{status.health.latency_ms:8.1f} ms"
            typer.echo(f"{status.name:<16} {status.adapter:<12} {state:<5} {latency}{detail}")
        return all(s.health.ok for s in statuses)

    if not _run(check()):
        raise typer.Exit(code=1)


@identity_app.command("run")
def identity_run(
    config: ConfigOption = Path("crmhub.yaml"),
    full: Annotated[
        bool, typer.Option("--full", help="Re-read every record and compare all of them again.")
    ] = False,
) -> None:
    """Link the silos' records into customers with the configured match rules (incremental by default)."""
    from .hub import Hub
    from .identity.console import run_with_progress

    async def run() -> None:
        hub = await Hub.from_file(config)
        try:
            await run_with_progress(hub, full=full)
        finally:
            await hub.aclose()

    _run(run())


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = Path("crmhub.yaml")) -> None:
    """Apply the hub database's migrations (the hub also does this at start-up)."""
    from .store import Database

    async def upgrade() -> None:
        db = Database(load_settings(config).database_url)
        try:
            await db.migrate()
        finally:
            await db.aclose()

    _run(upgrade())
    typer.echo("database is up to date")


@hooks_app.command("send")
def hooks_send(
    source: Annotated[str, typer.Argument(help="The source whose records changed.")],
    entity: Annotated[str, typer.Option(help="Canonical entity of the records (customer, order...).")],
    record_ids: Annotated[
        list[str] | None,
        typer.Option("--id", help="A changed record: its upstream id (1195) or hub id (accounting:1195)."),
    ] = None,
    related: Annotated[
        list[str] | None,
        typer.Option(help="FIELD=VALUE: the records related to VALUE changed (customer_external_id=7)."),
    ] = None,
    url: Annotated[str, typer.Option(help="Base URL of the running hub.")] = "http://127.0.0.1:8000",
    config: ConfigOption = Path("crmhub.yaml"),
) -> None:
    """Post a signed change notification to POST /hooks/SOURCE, as the upstream (or its relay) would; the
    hub drops the cached records it names. Exits 1 when the hub refuses it."""
    from .hooks import send_change

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        raise _fail(exc.message) from None
    hook = settings.hooks.get(source)
    if hook is None:
        raise _fail(f"{config} configures no hook for {source!r} (hooks.{source}.secret)")
    change: dict[str, object] = {"entity": entity}
    if record_ids:
        # The ids GraphQL shows are "<source>:<upstream id>"; the hook takes upstream ids.
        change["ids"] = [i.removeprefix(f"{source}:") for i in record_ids]
    if related:
        grouped: dict[str, list[str]] = {}
        for item in related:
            field, separator, value = item.partition("=")
            if not separator or not field or not value:
                raise _fail(f"--related takes FIELD=VALUE, not {item!r}")
            grouped.setdefault(field, []).append(value)
        change["related"] = grouped
    if "ids" not in change and "related" not in change:
        raise _fail("name the changed records with --id or --related")
    try:
        status, answer = asyncio.run(send_change(url, source, hook.secret.get_secret_value(), change))
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{status} {answer}")
    if status != 200:
        raise typer.Exit(code=1)
    if _removed(answer) == 0:
        typer.echo("(none of it was cached: not read since it was last dropped, or not the source's ids)")


def _removed(answer: str) -> int | None:
    try:
        removed = json.loads(answer).get("removed")
    except (ValueError, AttributeError):
        return None
    return removed if isinstance(removed, int) else None


@adapter_app.command("new")
def adapter_new(
    name: Annotated[str, typer.Argument(help="The adapter's name, as `adapter:` in crmhub.yaml.")],
    directory: Annotated[Path, typer.Option("--dir", help="Where to create the package.")] = Path("."),
) -> None:
    """Scaffold an adapter plugin package: entry point, config model, mapping, conformance test."""
    from .scaffold import ScaffoldError, scaffold_adapter

    try:
        root = scaffold_adapter(name, directory)
    except ScaffoldError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"created {root}")
    typer.echo(f"next: cd {root} && pip install -e '.[dev]' && pytest")


@app.command()
def bench(
    quick: Annotated[bool, typer.Option(help="Tiny sizes: a smoke run, not a measurement.")] = False,
    only: Annotated[str | None, typer.Option(help="Comma-separated benchmarks to run.")] = None,
) -> None:
    """Run the benchmarks (python -m bench) and print the summary table."""
    from bench.runner import main as run_benchmarks

    args = ["--quick"] if quick else []
    raise typer.Exit(code=run_benchmarks([*args, *(["--only", only] if only else [])]))


def main() -> None:  # pragma: no cover - console entry point
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
