"""The ERP silo's shipped mapping, through the SQL adapter, passes the adapter conformance kit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.sdk.testing import AdapterConformance
from adapters.sql import SQLAdapter
from silos.erp import MAPPING_PATH


@pytest.fixture(scope="module")
async def erp_adapter(erp_sqlite: Path) -> AsyncIterator[SQLAdapter]:
    adapter = SQLAdapter.from_config(
        source="erp", config={"url": f"sqlite+aiosqlite:///{erp_sqlite}", "mapping": str(MAPPING_PATH)}
    )
    assert isinstance(adapter, SQLAdapter)
    yield adapter
    await adapter.aclose()


class TestErpConformance(AdapterConformance, fixture="erp_adapter"):
    pass
