"""A bad config stops start-up with a message naming the file, the source and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.config import load_settings
from hub.errors import ConfigError
from hub.hub import Hub

from .support.hub import erp_source, write_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "crmhub.yaml"
    path.write_text(text)
    return path


def test_valid_config_resolves_relative_paths(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        database_url="sqlite+aiosqlite:///state/hub.db",
        sources=[erp_source("sqlite+aiosqlite:///erp.db")],
    )
    settings = load_settings(path)
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'state/hub.db'}"
    assert settings.base_dir == tmp_path.resolve()
    assert [s.name for s in settings.sources] == ["erp"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources: [", "not valid YAML at line"),
        ("- just a list", "the top level must be a mapping"),
        ("sources:\n  - adapter: sql\n", "source '#1': name: Field required"),
        ("sources:\n  - name: Bad Name\n    adapter: sql\n", "source 'Bad Name': name: Value error"),
        (
            "sources:\n  - name: erp\n    adapter: sql\n    colour: red\n",
            "source 'erp': colour: Extra inputs",
        ),
        ("databse_url: x\n", "databse_url: Extra inputs are not permitted"),
        (
            "sources:\n  - {name: a, adapter: sql}\n  - {name: a, adapter: sql}\n",
            "the name 'a' is used more than once",
        ),
        ("identity: {seed_sources: [erp]}\n", "identity.seed_sources: no source named 'erp'"),
        (
            "database_url: mysql://crm:pw@db/crm\n",
            "database_url: Value error, must be a SQLite or PostgreSQL URL",
        ),
        ("database_url: crm.sqlite\n", "database_url: Value error, must be a SQLite or PostgreSQL URL"),
        ("database_url: postgresql+psycopg2://db/crm\n", "the postgresql driver 'psycopg2' is not supported"),
    ],
)
def test_config_errors_name_file_source_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(path) in info.value.message
    assert expected in info.value.message


@pytest.mark.parametrize(
    ("given", "pinned"),
    [
        ("sqlite:///hub.db", "sqlite+aiosqlite:///{dir}/hub.db"),
        ("sqlite+pysqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("postgresql://crm@db:5432/crm", "postgresql+asyncpg://crm@db:5432/crm"),
        ("postgres://crm@db/crm", "postgresql+asyncpg://crm@db/crm"),
    ],
)
def test_the_hub_database_url_is_pinned_to_its_async_driver(tmp_path: Path, given: str, pinned: str) -> None:
    settings = load_settings(_write(tmp_path, f"database_url: '{given}'\n"))
    assert settings.database_url == pinned.format(dir=tmp_path.resolve())


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_settings(tmp_path / "absent.yaml")


async def test_adapter_config_errors_stop_start_up(tmp_path: Path) -> None:
    unknown = write_config(
        tmp_path,
        database_url="sqlite+aiosqlite:///hub.db",
        sources=[{"name": "erp", "adapter": "nosuch", "config": {}}],
    )
    with pytest.raises(
        ConfigError, match=r"source 'erp' \(adapter 'nosuch'\): unknown adapter 'nosuch' \(installed: .*sql"
    ):
        await Hub.start(load_settings(unknown))
    missing_url = write_config(
        tmp_path,
        database_url="sqlite+aiosqlite:///hub.db",
        sources=[{"name": "erp", "adapter": "sql", "config": {"entities": {}}}],
    )
    with pytest.raises(ConfigError, match=r"source 'erp' \(adapter 'sql'\): config\.url: Field required"):
        await Hub.start(load_settings(missing_url))


def test_environment_overrides_file_and_source_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(
        tmp_path,
        database_url="sqlite+aiosqlite:///hub.db",
        sources=[erp_source("sqlite+aiosqlite:///erp.db")],
    )
    monkeypatch.setenv("CRMHUB_DATABASE_URL", "postgresql+asyncpg://hub@127.0.0.1/hub")
    monkeypatch.setenv("CRMHUB_SOURCES__ERP__PASSWORD", "s3cret")
    monkeypatch.setenv("CRMHUB_GRAPHQL__MAX_PAGE_SIZE", "42")
    settings = load_settings(path)
    assert settings.database_url == "postgresql+asyncpg://hub@127.0.0.1/hub"
    assert settings.source("erp").config["password"] == "s3cret"
    assert settings.graphql.max_page_size == 42


def test_cli_reports_config_errors_without_a_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, "sources:\n  - name: erp\n")
    result = CliRunner().invoke(cli, ["sources", "check", "--config", str(path)])
    assert result.exit_code == 2
    assert "source 'erp': adapter: Field required" in result.output
    assert "Traceback" not in result.output
