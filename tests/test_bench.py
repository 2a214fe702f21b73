"""The benchmark runner: ``python -m bench --quick`` runs every benchmark present at tiny sizes and prints
one summary table; the runner itself copes with missing and failing benchmarks."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from bench import common, fanout, warm
from bench.runner import BENCHMARKS, Benchmark, Row, run_one, summary_table

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


def _benchmark(name: str) -> Benchmark:
    return next(benchmark for benchmark in BENCHMARKS if benchmark.name == name)


def _fake_main(
    figures: dict[str, float], calls: list[list[str] | None]
) -> Callable[[list[str] | None], dict[str, float]]:
    """A benchmark's ``main`` that records its arguments and returns ``figures`` without measuring."""

    def main(argv: list[str] | None = None) -> dict[str, float]:
        calls.append(argv)
        return figures

    return main


FANOUT_FIGURES = {
    "p50_ms": 55.0,
    "p95_ms": 70.0,
    "calls_per_request": 7.0,
    "latency_ms": 50.0,
    "requests": 3.0,
}


@pytest.mark.parametrize(("p50_ms", "met"), [(55.0, True), (57.5, True), (86.7, False)])
def test_fanout_figures_become_rows_with_their_goal(
    monkeypatch: pytest.MonkeyPatch, p50_ms: float, met: bool
) -> None:
    """The runner calls ``fanout.main(["--quick"])`` and grades p50 / one silo's latency against 1.15."""
    calls: list[list[str] | None] = []
    figures = {**FANOUT_FIGURES, "p50_ms": p50_ms, "ratio": p50_ms / 50.0}
    monkeypatch.setattr(fanout, "main", _fake_main(figures, calls))
    p50, p95, upstream = run_one(_benchmark("fanout"), quick=True)
    assert calls == [["--quick"]]
    assert {row.benchmark for row in (p50, p95, upstream)} == {"fanout"}
    assert (p50.value, p50.baseline, p50.goal, p50.met) == (
        f"{p50_ms:.1f} ms",
        "50 ms (one silo)",
        "<= 1.15",
        met,
    )
    assert p50.ratio == pytest.approx(p50_ms / 50.0)
    assert "50 ms in each of 4 silos" in p50.figure
    assert (p95.value, p95.met) == ("70.0 ms", None) and p95.ratio == pytest.approx(1.4)
    assert (upstream.value, upstream.met) == ("7.0", None)
    line = summary_table([p50]).splitlines()[2]
    assert line.split()[-1] == ("yes" if met else "NO")


def test_fanout_floor_without_the_hub_becomes_an_ungraded_row(monkeypatch: pytest.MonkeyPatch) -> None:
    figures = {**FANOUT_FIGURES, "p50_ms": 80.0, "ratio": 1.6, "direct_p50_ms": 72.0, "direct_ratio": 1.44}
    monkeypatch.setattr(fanout, "main", _fake_main(figures, []))
    *_, direct = run_one(_benchmark("fanout"), quick=True)
    assert "without the hub" in direct.figure
    assert (direct.value, direct.baseline, direct.met) == ("72.0 ms", "50 ms (one silo)", None)
    assert direct.ratio == pytest.approx(1.44)


def test_fanout_machine_floor_and_hub_cpu_become_ungraded_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    figures = {
        **FANOUT_FIGURES,
        "ratio": 1.2,
        "machine_floor_p50_ms": 53.5,
        "machine_floor_ratio": 1.07,
        "hub_only_cpu_ms": 4.25,
        "zero_cost_adapters_ratio": 1.155,
    }
    monkeypatch.setattr(fanout, "main", _fake_main(figures, []))
    rows = {row.figure: row for row in run_one(_benchmark("fanout"), quick=True)}
    floor = rows["this machine's floor: the same HTTP requests through bare aiohttp, p50"]
    hub_cpu = rows["hub CPU per cold 360 with the adapters answering from memory, median"]
    bound = rows["machine floor + that hub CPU (a hub over zero-cost adapters)"]
    assert (floor.value, floor.baseline, floor.met) == ("53.5 ms", "50 ms (one silo)", None)
    assert floor.ratio == pytest.approx(1.07)
    assert (hub_cpu.value, hub_cpu.met) == ("4.2 ms", None)
    assert (bound.value, bound.met) == ("57.8 ms", None) and bound.ratio == pytest.approx(1.155)


def test_fanout_cpu_and_steal_become_ungraded_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    figures = {**FANOUT_FIGURES, "ratio": 1.1, "cpu_ms_per_request": 12.34, "steal_percent": 17.06}
    monkeypatch.setattr(fanout, "main", _fake_main(figures, []))
    rows = {row.figure: row for row in run_one(_benchmark("fanout"), quick=True)}
    cpu, steal = (
        rows["hub CPU per cold customer 360"],
        rows["CPU time stolen by the hypervisor (fan-out run)"],
    )
    assert (cpu.value, cpu.met, steal.value, steal.met) == ("12.3 ms", None, "17.1%", None)


def test_steal_share_is_the_stolen_part_of_the_ticks_between_two_readings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stat = tmp_path / "stat"
    monkeypatch.setattr(common, "_PROC_STAT", stat)
    stat.write_text("cpu  100 0 50 800 10 0 5 35 0 0\ncpu0 1 2 3\n")
    before = common.cpu_ticks()
    stat.write_text("cpu  160 0 60 900 10 0 5 65 0 0\n")
    after = common.cpu_ticks()
    assert before == (35, 1000) and after == (65, 1200)
    assert common.steal_share(before, after) == pytest.approx(30 / 200)
    assert common.steal_share(after, after) is None  # no time passed: nothing to divide
    stat.write_text("intr 1 2 3\n")
    assert common.cpu_ticks() is None  # not the format expected: no reading rather than a wrong one
    monkeypatch.setattr(common, "_PROC_STAT", tmp_path / "missing")
    assert common.cpu_ticks() is None and common.steal_share(None, after) is None


@pytest.mark.parametrize(("hub_rps", "met"), [(50.0, True), (40.0, True), (39.0, False)])
def test_warm_figures_become_rows_with_their_goal(
    monkeypatch: pytest.MonkeyPatch, hub_rps: float, met: bool
) -> None:
    """The runner calls ``warm.main(["--quick"])`` and grades hub / bare requests per second against 0.8."""
    calls: list[list[str] | None] = []
    figures = {
        "hub_rps": hub_rps,
        "bare_rps": 50.0,
        "ratio": hub_rps / 50.0,
        "upstream": 0.0,
        "hub_mean_latency_ms": 8 / hub_rps * 1000,
        "bare_mean_latency_ms": 160.0,
    }
    monkeypatch.setattr(warm, "main", _fake_main(figures, calls))
    throughput, latency, upstream = run_one(_benchmark("warm"), quick=True)
    assert calls == [["--quick"]]
    assert (throughput.benchmark, throughput.goal, throughput.met) == ("warm", ">= 0.8", met)
    assert (throughput.value, throughput.baseline) == (f"{hub_rps:.0f}/s", "50/s (bare strawberry)")
    assert throughput.ratio == pytest.approx(hub_rps / 50.0)
    assert (latency.value, latency.baseline, latency.met) == (
        f"{8 / hub_rps * 1000:.1f} ms",
        "160.0 ms (bare strawberry)",
        None,
    )
    assert (upstream.value, upstream.met) == ("0", None)


def _warm_figures(**extra: float) -> dict[str, float]:
    """A full-size warm run's figures: the hub at 60 req/s against bare strawberry's 50, plus ``extra``."""
    return {
        "hub_rps": 60.0,
        "bare_rps": 50.0,
        "ratio": 1.2,
        "upstream": 0.0,
        "hub_mean_latency_ms": 133.3,
        "bare_mean_latency_ms": 160.0,
        **extra,
    }


def test_warm_api_key_path_becomes_an_ungraded_row(monkeypatch: pytest.MonkeyPatch) -> None:
    figures = _warm_figures(api_key_rps=45.0, api_key_ratio=0.9)
    monkeypatch.setattr(warm, "main", _fake_main(figures, []))
    front_end, api_key, _latency, _upstream = run_one(_benchmark("warm"), quick=True)
    assert "JWT" in front_end.figure and front_end.met is True
    assert "API key" in api_key.figure
    assert (api_key.value, api_key.goal, api_key.met) == ("45/s", "-", None)
    assert api_key.ratio == pytest.approx(0.9)


def test_warm_stricter_baseline_is_listed_next_to_the_graded_row(monkeypatch: pytest.MonkeyPatch) -> None:
    figures = _warm_figures(cached_bare_rps=300.0, cached_ratio=0.2)
    monkeypatch.setattr(warm, "main", _fake_main(figures, []))
    graded, stricter, _latency, _upstream = run_one(_benchmark("warm"), quick=True)
    assert graded.met is True and graded.ratio == pytest.approx(1.2)
    assert "stricter" in stricter.figure and "caches" in stricter.baseline
    assert (stricter.value, stricter.goal, stricter.met) == ("60/s", "-", None)
    assert stricter.ratio == pytest.approx(0.2)


def test_figures_of_an_unexpected_shape_are_still_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout, "main", _fake_main({"p50_ms": 60.0}, []))
    (row,) = run_one(_benchmark("fanout"), quick=True)
    assert (row.benchmark, row.figure, row.value, row.met) == ("fanout", "p50_ms", "60", None)


def test_fanout_quick_run_returns_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """A real cold customer 360 over the four silos, three requests: the figures are there and coherent."""
    figures = fanout.main(["--quick", "--latency-ms", "20"])
    assert figures["requests"] == fanout.QUICK_REQUESTS and figures["latency_ms"] == 20.0
    # The replayed calls wait for the same injected latency, so they cannot beat it.
    assert figures["direct_p50_ms"] >= 20.0
    # Each request waits at least one silo's latency, and the fan-out reaches all four silos.
    assert figures["p95_ms"] >= figures["p50_ms"] >= 20.0
    assert figures["ratio"] == pytest.approx(figures["p50_ms"] / 20.0)
    assert figures["calls_per_request"] >= 4
    # The bare replay sends the same requests to the same slow silos, so it waits their latency too.
    assert figures["machine_floor_p50_ms"] >= 20.0
    assert figures["machine_floor_ratio"] == pytest.approx(figures["machine_floor_p50_ms"] / 20.0)
    # The hub's own CPU, every answer served from memory: real work, and less than the whole request's.
    assert 0 < figures["hub_only_cpu_ms"] < figures["cpu_ms_per_request"]
    assert figures["zero_cost_adapters_ratio"] == pytest.approx(
        (figures["machine_floor_p50_ms"] + figures["hub_only_cpu_ms"]) / 20.0
    )
    out = capsys.readouterr().out
    assert "cold p50" in out and f"{figures['p50_ms']:.1f} ms" in out
    assert "bare aiohttp" in out and f"{figures['machine_floor_p50_ms']:.1f} ms" in out
    assert f"event loop: {common.served_loop()}" in out


def test_fanout_runs_on_the_loop_crmhub_serve_runs_on_or_on_asyncios(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """By default the hub runs where ``crmhub serve`` runs it (uvicorn picks uvloop when it is installed);
    ``--loop asyncio`` measures it on asyncio's own loop."""
    loops: list[str] = []

    async def which_loop(latency_ms: float, requests: int) -> dict[str, float]:
        loops.append(type(asyncio.get_running_loop()).__module__.split(".")[0])
        return defaultdict(lambda: latency_ms)  # any figure the report prints

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fanout, "measure", which_loop)
        fanout.main(["--quick"])
        fanout.main(["--quick", "--loop", "asyncio"])
    assert "event loop: asyncio" in capsys.readouterr().out
    served = "uvloop" if common.served_loop().startswith("uvloop") else "asyncio"
    assert loops == [served, "asyncio"]


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
    for name, goal in (("fanout", "<= 1.15"), ("warm", ">= 0.8")):
        graded = [line for line in table if line.startswith(f"{name} ") and goal in line]
        assert len(graded) == 1 and graded[0].split()[-1] in ("yes", "NO"), table
