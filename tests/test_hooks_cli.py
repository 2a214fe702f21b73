"""``crmhub hooks send``: a signed change notification from the command line reaches a running hub over
HTTP and drops the cached records it names; every mistake gets a clear message and a failing exit code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from hub.app import create_app
from hub.cli import app as cli
from hub.hub import Hub

from .support.desk_hub import attempts, desk_hub
from .support.http_server import closed_port, serve_app
from .support.hub import api_client, gql
from .support.silos import running_silo, silo_data

ORGANIZATIONS = [o.id for o in silo_data().support.organizations[:2]]
QUERY = "query($id: ID!) { customer(id: $id) { name website } }"


@pytest.fixture
async def served(erp_sqlite: Path, tmp_path: Path) -> AsyncIterator[tuple[Hub, list[str], str, Path]]:
    """A hub with a change hook for the support source, served over HTTP; its config file and URL."""
    async with (
        running_silo("support") as desk,
        desk_hub(
            tmp_path,
            erp_sqlite,
            desk,
            organizations=ORGANIZATIONS,
            cache={"enabled": True, "default_ttl_seconds": 60},
            hooks={"support": {"secret": "hook-secret-0123456789abcdef"}},
        ) as (hub, customers),
        serve_app(create_app(hub=hub)) as url,
    ):
        yield hub, customers, url, tmp_path / "crmhub.yaml"


async def _send(*args: str) -> Result:
    # The command runs its own event loop and blocks: off this loop, which serves the hub it talks to.
    return await asyncio.to_thread(lambda: CliRunner().invoke(cli, ["hooks", "send", *args]))


@pytest.mark.parametrize("id_form", ["upstream", "hub"])
async def test_a_sent_change_drops_the_cached_record(
    served: tuple[Hub, list[str], str, Path], id_form: str
) -> None:
    hub, customers, url, config = served
    record_id = str(ORGANIZATIONS[0]) if id_form == "upstream" else f"support:{ORGANIZATIONS[0]}"
    args = ["support", "--entity", "customer", "--id", record_id, "--config", str(config), "--url", url]
    async with api_client(hub) as client:
        await gql(client, QUERY, {"id": customers[0]})
        await gql(client, QUERY, {"id": customers[0]})
        cached = attempts(hub, "support")
        assert cached[("customer", "get_many")] == 1, "the second 360 came from the cache"
        result = await _send(*args)
        assert result.exit_code == 0, result.output
        assert result.output.strip() == '200 {"removed":1}'
        again = await _send(*args)
        assert again.exit_code == 0, again.output
        assert again.output.startswith('200 {"removed":0}') and "none of it was cached" in again.output
        await gql(client, QUERY, {"id": customers[0]})
        assert attempts(hub, "support")[("customer", "get_many")] == 2, "read again after the change"


async def test_related_records_are_named_by_field_and_value(served: tuple[Hub, list[str], str, Path]) -> None:
    _, _, url, config = served
    result = await _send(
        "support",
        "--entity",
        "ticket",
        "--related",
        f"customer_external_id={ORGANIZATIONS[0]}",
        "--config",
        str(config),
        "--url",
        url,
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("200 ")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["erp", "--entity", "customer", "--id", "1"], 2, "configures no hook for 'erp'"),
        (["support", "--entity", "customer"], 2, "name the changed records with --id or --related"),
        (["support", "--entity", "ticket", "--related", "customer_external_id"], 2, "FIELD=VALUE"),
        (["support", "--entity", "unicorn", "--id", "1"], 1, "400 "),
    ],
    ids=["no-hook", "no-records", "bad-related", "unknown-entity"],
)
async def test_mistakes_are_explained(
    served: tuple[Hub, list[str], str, Path], args: list[str], code: int, message: str
) -> None:
    _, _, url, config = served
    result = await _send(*args, "--config", str(config), "--url", url)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "hook-secret" not in result.output


@pytest.mark.parametrize(
    ("target", "message"),
    [("closed", "cannot reach the hub"), ("ftp://127.0.0.1:21", "is not an http(s) URL")],
)
async def test_an_unreachable_hub_is_an_error_not_a_traceback(
    served: tuple[Hub, list[str], str, Path], target: str, message: str
) -> None:
    _, _, _, config = served
    url = f"http://127.0.0.1:{closed_port()}" if target == "closed" else target
    result = await _send(
        "support", "--entity", "customer", "--id", "1", "--config", str(config), "--url", url
    )
    assert result.exit_code == 2
    assert message in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_missing_config_is_reported(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "hooks",
            "send",
            "support",
            "--entity",
            "customer",
            "--id",
            "1",
            "--config",
            str(tmp_path / "x.yaml"),
        ],
    )
    assert result.exit_code == 2
    assert "x.yaml" in result.output
