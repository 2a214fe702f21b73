"""Shared helpers for the benchmark scripts."""

from __future__ import annotations

import asyncio
import platform
import sys
from collections.abc import Coroutine, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

_PROC_STAT = Path("/proc/stat")
T = TypeVar("T")


def run_as_served(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the event loop ``crmhub serve`` runs on: uvloop where it is installed (uvicorn's
    ``loop="auto"`` picks it, and ``uvicorn[standard]`` installs it), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def served_loop() -> str:
    """The name and version of the loop ``run_as_served`` uses, for the figures' header."""
    try:
        return f"uvloop {metadata.version('uvloop')}"
    except metadata.PackageNotFoundError:
        return "asyncio"


def machine() -> str:
    import os

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, {platform.system()}"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cpu_ticks() -> tuple[int, int] | None:
    """The machine's (steal, total) CPU ticks so far, from ``/proc/stat``; ``None`` where there is none.

    Steal is time the hypervisor gave this virtual machine's CPUs to someone else: a run that saw much of it
    measured a slower machine than the figures' baseline would suggest, and latency figures suffer most.
    """
    try:
        fields = _PROC_STAT.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    ticks = [int(value) for value in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return ticks[7], sum(ticks)


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of CPU time stolen between two ``cpu_ticks()`` readings (0.0-1.0), if both exist."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])
