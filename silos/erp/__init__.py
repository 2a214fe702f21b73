"""The simulated ERP: a deterministic, generated ERP database (companies, contacts, products, orders and
their lines, credit terms, and the sales organisation), written to SQLite or PostgreSQL and read by crmhub's
SQL adapter through ``mapping.yaml``.

    python -m silos.erp --size 100 --out erp.sqlite
"""

from __future__ import annotations

from pathlib import Path

from .database import ensure_sqlite, read_sqlite_meta, write_database, write_sqlite
from .generator import GENERATOR_VERSION, TABLES_IN_ORDER, ErpGenerator

#: The SQL adapter mapping of the ERP's tables (``config.mapping`` of an ``adapter: sql`` source).
MAPPING_PATH = Path(__file__).with_name("mapping.yaml")

__all__ = [
    "GENERATOR_VERSION",
    "MAPPING_PATH",
    "TABLES_IN_ORDER",
    "ErpGenerator",
    "ensure_sqlite",
    "read_sqlite_meta",
    "write_database",
    "write_sqlite",
]
