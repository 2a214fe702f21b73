"""The benchmark runner: ``python -m bench --quick`` runs every benchmark present at tiny sizes and prints
one summary table; the runner itself copes with missing and failing benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.runner import Benchmark, Row, run_one, summary_table

REPO = Path(__file__).resolve().parents[1]
NAMES = ("batching", "fanout", "warm", "export", "identity")


def test_a_missing_benchmark_is_reported_not_fatal() -> None:
    (row,) = run_one(Benchmark("no_such_benchmark", (), lambda figures: []), quick=True)
    assert (row.benchmark, row.value) == ("no_such_benchmark", "not available")


def test_summary_table_columns() -> None:
    rows = [
        Row("rows/s", "10/s", "20/s", 0.5, ">= 0.5", True, benchmark="export"),
        Row("-", "not available", benchmark="identity"),
    ]
    lines = summary_table(rows).splitlines()
    assert lines[0].split() == ["benchmark", "figure", "value", "baseline", "ratio", "goal", "met?"]
    assert lines[2].split()[:3] == ["export", "rows/s", "10/s"] and lines[2].split()[-1] == "yes"
    assert lines[3].split()[0] == "identity" and "not available" in lines[3]


def test_quick_run_prints_the_summary_table() -> None:
    """The whole suite at tiny sizes (about a minute on 2 cores): a smoke run, not a measurement."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    out = done.stdout
    assert "summary (quick run" in out, out[-3000:] + done.stderr[-3000:]
    table = out.split("summary (quick run", 1)[1].splitlines()[1:]
    assert table[0].split() == ["benchmark", "figure", "value", "baseline", "ratio", "goal", "met?"]
    listed = {line.split()[0] for line in table[2:] if line.strip()}
    assert listed == set(NAMES), table  # every benchmark has a row, whatever its state
    export_rows = [line for line in table if line.startswith("export ")]
    assert len(export_rows) == 2 and "failed" not in " ".join(export_rows), export_rows
    assert "output of hub and baseline: identical" in out
