"""Fixtures for an adapter under test, built from one function that points it at a base URL.

* ``closing(adapter)``: yields the adapter and closes it afterwards;
* ``failing_adapter_fixtures(prefix, build, *args, slow=...)``: the ``<prefix>_down`` and
  ``<prefix>_silent`` fixtures the conformance kit wants as its unreachable and slow adapters: one pointed
  at a port nobody listens on, one at a listener that never answers (built with ``slow``, a short timeout).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

import pytest

from .http_server import black_hole, closed_port


class Closable(Protocol):
    async def aclose(self) -> None: ...


A = TypeVar("A", bound=Closable)

QUICK_TIMEOUT: Mapping[str, Any] = {"timeout_seconds": 0.2}


@asynccontextmanager
async def closing(adapter: A) -> AsyncIterator[A]:
    try:
        yield adapter
    finally:
        await adapter.aclose()


def failing_adapter_fixtures(
    prefix: str, build: Callable[..., A], *args: Any, slow: Mapping[str, Any] = QUICK_TIMEOUT
) -> tuple[Any, Any]:
    """``build(base_url, *args, **overrides)`` makes the adapter; bind the result to ``<prefix>_down,
    <prefix>_silent`` in the test module so pytest finds both fixtures there."""

    @pytest.fixture(name=f"{prefix}_down")
    async def down() -> AsyncIterator[A]:
        async with closing(build(f"http://127.0.0.1:{closed_port()}", *args)) as adapter:
            yield adapter

    @pytest.fixture(name=f"{prefix}_silent")
    async def silent() -> AsyncIterator[A]:
        async with black_hole() as url, closing(build(url, *args, **slow)) as adapter:
            yield adapter

    return down, silent
