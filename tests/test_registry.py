"""Adapters are discovered through the ``crmhub.adapters`` entry-point group."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from adapters.sdk import AdapterConfigError, AdapterRegistry
from adapters.sql import SQLAdapter


def test_builtin_adapters_are_discovered() -> None:
    registry = AdapterRegistry.discover()
    assert registry.get("sql") is SQLAdapter


def test_duplicate_names_fail_loudly() -> None:
    points = [
        EntryPoint(name="sql", value="adapters.sql:SQLAdapter", group="crmhub.adapters"),
        EntryPoint(name="sql", value="somebody.else:SQLAdapter", group="crmhub.adapters"),
    ]
    with pytest.raises(AdapterConfigError, match="'sql' is registered twice"):
        AdapterRegistry.discover(points)


def test_broken_and_wrong_targets_fail_loudly() -> None:
    missing = [EntryPoint(name="x", value="no_such_module_here:Adapter", group="crmhub.adapters")]
    with pytest.raises(AdapterConfigError, match=r"adapter 'x' .* failed to load: ModuleNotFoundError"):
        AdapterRegistry.discover(missing)
    not_adapter = [EntryPoint(name="y", value="pathlib:Path", group="crmhub.adapters")]
    with pytest.raises(AdapterConfigError, match=r"not a subclass of adapters\.sdk\.Adapter"):
        AdapterRegistry.discover(not_adapter)


def test_unknown_adapter_lists_installed_ones() -> None:
    with pytest.raises(AdapterConfigError, match=r"unknown adapter 'nope' \(installed: .*sql"):
        AdapterRegistry.discover().get("nope")
