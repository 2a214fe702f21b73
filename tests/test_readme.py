"""The queries the README shows are valid against the schema (docs that drift are bugs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse, validate

from schema import build_schema

README = Path(__file__).resolve().parents[1] / "README.md"
QUERIES = [block.split("```", 1)[0] for block in README.read_text(encoding="utf-8").split("```graphql")[1:]]


@pytest.mark.parametrize("query", QUERIES)
def test_readme_queries_validate(query: str) -> None:
    assert validate(build_schema()._schema, parse(query)) == []


def test_readme_has_the_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "pip install -e . && crmhub demo" in text
    assert "pip install -e '.[dev]' && pytest" in text
    assert "pip install -e '.[dev]' && pytest" in (README.parent / ".ci" / "run").read_text()
