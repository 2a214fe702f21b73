"""The base install (``pip install -e .``) has neither the redis client nor the asyncpg driver: the hub must
start on its defaults, and a configuration that needs either must say how to install it. Each check runs in
a fresh interpreter where importing them fails, as it does on a machine without the extras."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
sys.modules["redis"] = sys.modules["asyncpg"] = None  # importing them now fails, as without the extras
from pathlib import Path
from adapters.sdk import AdapterConfigError
from adapters.sql import SQLAdapter
from hub.config import load_settings
from hub.errors import ConfigError
import hub.cli, hub.app  # the CLI and the app import without them

result = {}
for name in sys.argv[1:]:
    try:
        settings = load_settings(Path(name))
        for source in settings.sources:
            SQLAdapter.from_config(source=source.name, config=source.config)
        result[name] = "ok:" + settings.cache.backend
    except (ConfigError, AdapterConfigError) as exc:
        result[name] = "error:" + str(exc)
print(json.dumps(result))
"""


def probe(tmp_path: Path, configs: dict[str, str]) -> dict[str, str]:
    paths = []
    for name, text in configs.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(textwrap.dedent(text))
        paths.append(str(path))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *paths], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return {Path(path).stem: outcome for path, outcome in found.items()}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return probe(
        tmp_path_factory.mktemp("extras"),
        {
            "defaults": "database_url: sqlite+aiosqlite:///hub.sqlite\n",
            "redis_cache": """\
                cache: {backend: redis, redis_url: "redis://127.0.0.1:6379/0"}
            """,
            "redis_cache_disabled": """\
                cache: {enabled: false, backend: redis, redis_url: "redis://127.0.0.1:6379/0"}
            """,
            "redis_rate_limit": """\
                security: {rate_limit: {redis_url: "redis://127.0.0.1:6379/0"}}
            """,
            "postgres_hub": "database_url: postgresql+asyncpg://crm@127.0.0.1:5432/crm\n",
            "postgres_source": """\
                sources:
                  - name: erp
                    adapter: sql
                    config:
                      url: postgresql://erp@127.0.0.1:5432/erp
                      entities:
                        customer: {table: companies, key: id, fields: {name: name}}
            """,
            "sqlite_source": """\
                sources:
                  - name: erp
                    adapter: sql
                    config:
                      url: sqlite:///erp.db
                      entities:
                        customer: {table: companies, key: id, fields: {name: name}}
            """,
        },
    )


def test_the_defaults_need_neither_extra(outcomes: dict[str, str]) -> None:
    assert outcomes["defaults"] == "ok:memory"
    assert outcomes["sqlite_source"] == "ok:memory"
    assert outcomes["redis_cache_disabled"] == "ok:redis"  # configured but switched off: nothing to refuse


@pytest.mark.parametrize(
    ("config", "what"),
    [("redis_cache", "backend 'redis'"), ("redis_rate_limit", "a rate limit with redis_url")],
)
def test_a_redis_configuration_without_the_client_says_how_to_install_it(
    outcomes: dict[str, str], config: str, what: str
) -> None:
    outcome = outcomes[config]
    assert outcome.startswith("error:") and what in outcome
    assert "pip install 'crmhub[redis]'" in outcome


@pytest.mark.parametrize("config", ["postgres_hub", "postgres_source"])
def test_a_postgresql_url_without_the_driver_says_how_to_install_it(
    outcomes: dict[str, str], config: str
) -> None:
    outcome = outcomes[config]
    assert outcome.startswith("error:") and "url" in outcome
    assert "the asyncpg driver is not installed: pip install 'crmhub[postgres]'" in outcome
