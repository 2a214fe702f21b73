"""``crmhub adapter new`` writes a plugin package whose own conformance test passes as generated."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.sdk import Adapter, AdapterRegistry
from hub.cli import app as cli


def test_generated_package_registers_and_passes_conformance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = CliRunner().invoke(cli, ["adapter", "new", "acme_crm", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    root = tmp_path / "crmhub-adapter-acme-crm"
    assert f"created {root}" in result.output

    project = tomllib.loads((root / "pyproject.toml").read_text())
    target = project["project"]["entry-points"]["crmhub.adapters"]["acme_crm"]
    monkeypatch.syspath_prepend(str(root / "src"))
    registry = AdapterRegistry.discover([EntryPoint(name="acme_crm", value=target, group="crmhub.adapters")])
    adapter_class = registry.get("acme_crm")
    assert issubclass(adapter_class, Adapter) and adapter_class.name == "acme_crm"

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root / "src")},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "12 passed" in run.stdout


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Bad-Name", "must be 2-40 lower-case letters"),
        ("x", "must be 2-40 lower-case letters"),
        ("9lives", "must be 2-40 lower-case letters"),
        ("class", "is a Python keyword; pick another, e.g. 'class_erp'"),
    ],
)
def test_invalid_names_are_refused(tmp_path: Path, name: str, reason: str) -> None:
    result = CliRunner().invoke(cli, ["adapter", "new", name, "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert reason in " ".join(result.output.split())
    assert not any(tmp_path.iterdir())


def test_existing_directory_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "crmhub-adapter-acme").mkdir()
    (tmp_path / "crmhub-adapter-acme" / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["adapter", "new", "acme", "--dir", str(tmp_path)])
    assert result.exit_code == 2 and "already exists" in result.output
    assert (tmp_path / "crmhub-adapter-acme" / "keep.txt").read_text() == "mine"
