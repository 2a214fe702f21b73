"""The generic SQL adapter: map tables and columns of any SQLite or PostgreSQL database onto canonical
entities in YAML (see ``adapters/sql/README.md``)."""

from __future__ import annotations

from .adapter import SQLAdapter
from .config import SQLConfig
from .errors import SchemaMismatchError
from .spec import EntitySpec

__all__ = ["EntitySpec", "SQLAdapter", "SQLConfig", "SchemaMismatchError"]
