"""``python -m bench`` (and ``crmhub bench``): run every benchmark present, then print one summary table.

Each benchmark module prints its own report and returns its figures from ``main(argv)`` (or ``run``); each
figure is compared with a baseline measured in the same run, so a busy machine shifts both sides alike. A
module that is not there is reported as "not available", one that fails as "failed", and the others still
run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bench.common import machine, table


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    baseline: str = "-"
    ratio: float | None = None
    goal: str = "-"
    #: ``None`` when the run cannot tell (e.g. a goal stated for a size the quick run does not reach).
    met: bool | None = None
    #: Filled in by the runner.
    benchmark: str = ""


Describe = Callable[[dict[str, Any]], list[Row]]


@dataclass(frozen=True)
class Benchmark:
    name: str
    #: Arguments of a quick (smoke) run; a module's own ``QUICK_ARGS`` wins.
    quick_args: tuple[str, ...]
    describe: Describe


def _batching(figures: dict[str, Any]) -> list[Row]:
    hub, naive = figures["hub_calls"], figures["naive_calls"]
    return [
        Row(
            "upstream calls, 100 customers + orders/lines/products",
            f"{hub:.0f}",
            f"{naive:.0f} (per-object resolver)",
            hub / naive if naive else None,
            "4 (one per level)",
            hub == 4,
        )
    ]


def _fanout(figures: dict[str, Any]) -> list[Row]:
    from bench.fanout import TARGET

    latency, ratio = figures["latency_ms"], figures["ratio"]
    one_silo = f"{latency:.0f} ms (one silo)"
    rows = [
        Row(
            f"cold customer 360 p50, {latency:.0f} ms in each of 4 silos",
            f"{figures['p50_ms']:.1f} ms",
            one_silo,
            ratio,
            f"<= {TARGET}",
            ratio <= TARGET,
        ),
        Row("cold customer 360 p95", f"{figures['p95_ms']:.1f} ms", one_silo, figures["p95_ms"] / latency),
        Row("upstream calls per cold customer 360", f"{figures['calls_per_request']:.1f}"),
    ]
    if "cpu_ms_per_request" in figures:
        rows.append(Row("hub CPU per cold customer 360", f"{figures['cpu_ms_per_request']:.1f} ms"))
    if "steal_percent" in figures:
        rows.append(
            Row("CPU time stolen by the hypervisor (fan-out run)", f"{figures['steal_percent']:.1f}%")
        )
    if "direct_p50_ms" in figures:
        rows.append(
            Row(
                "the same upstream calls without the hub (adapters only), p50",
                f"{figures['direct_p50_ms']:.1f} ms",
                one_silo,
                figures["direct_ratio"],
            )
        )
    if "machine_floor_p50_ms" in figures:
        floor, hub_cpu = figures["machine_floor_p50_ms"], figures["hub_only_cpu_ms"]
        rows += [
            Row(
                "this machine's floor: the same HTTP requests through bare aiohttp, p50",
                f"{floor:.1f} ms",
                one_silo,
                figures["machine_floor_ratio"],
            ),
            Row("hub CPU per cold 360 with the adapters answering from memory, median", f"{hub_cpu:.1f} ms"),
            Row(
                "machine floor + that hub CPU (a hub over zero-cost adapters)",
                f"{floor + hub_cpu:.1f} ms",
                one_silo,
                figures["zero_cost_adapters_ratio"],
            ),
        ]
    return rows


def _warm(figures: dict[str, Any]) -> list[Row]:
    from bench.warm import TARGET

    ratio = figures["ratio"]
    return [
        Row(
            "warm-cache customer 360 req/s (front end, JWT)",
            f"{figures['hub_rps']:.0f}/s",
            f"{figures['bare_rps']:.0f}/s (bare strawberry)",
            ratio,
            f">= {TARGET}",
            ratio >= TARGET,
        ),
        *(
            [
                Row(
                    "warm-cache customer 360 req/s (API key)",
                    f"{figures['api_key_rps']:.0f}/s",
                    f"{figures['bare_rps']:.0f}/s (bare strawberry)",
                    figures["api_key_ratio"],
                )
            ]
            if "api_key_rps" in figures
            else []
        ),
        *(
            [
                Row(
                    "warm-cache customer 360 req/s (JWT), stricter baseline",
                    f"{figures['hub_rps']:.0f}/s",
                    f"{figures['cached_bare_rps']:.0f}/s (bare strawberry + parser/validation caches)",
                    figures["cached_ratio"],
                )
            ]
            if "cached_bare_rps" in figures
            else []
        ),
        Row(
            "warm-cache customer 360 mean latency",
            f"{figures['hub_mean_latency_ms']:.1f} ms",
            f"{figures['bare_mean_latency_ms']:.1f} ms (bare strawberry)",
        ),
        Row("upstream calls while warm", f"{figures['upstream']:.0f}"),
    ]


def _export(figures: dict[str, Any]) -> list[Row]:
    from bench import export

    return [Row(**row) for row in export.summary(figures)]


def _any_figures(figures: dict[str, Any]) -> list[Row]:
    """A benchmark the runner has no description of: its numeric figures as they are."""
    rows = [
        Row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
        for key, value in figures.items()
        if isinstance(value, int | float)
    ]
    return rows or [Row("-", "no numeric figures returned")]


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("batching", ("--size", "100"), _batching),
    Benchmark("fanout", ("--quick",), _fanout),
    Benchmark("warm", ("--quick",), _warm),
    Benchmark("export", ("--quick",), _export),
    Benchmark("identity", ("--quick",), _any_figures),
)


@contextlib.contextmanager
def _argv(args: Sequence[str]) -> Iterator[None]:
    saved = sys.argv
    sys.argv = [saved[0], *args]
    try:
        yield
    finally:
        sys.argv = saved


def _call(entry: Callable[..., Any], args: Sequence[str]) -> Any:
    """``main(argv)`` when the entry point takes the arguments, else ``main()`` reading ``sys.argv``."""
    try:
        takes_args = bool(inspect.signature(entry).parameters)
    except (TypeError, ValueError):
        takes_args = False
    if takes_args:
        return entry(list(args))
    with _argv(args):
        return entry()


def _shorten(text: str, width: int = 70) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 3] + "..."


def run_one(benchmark: Benchmark, *, quick: bool) -> list[Row]:
    return [replace(row, benchmark=benchmark.name) for row in _run_one(benchmark, quick=quick)]


def _run_one(benchmark: Benchmark, *, quick: bool) -> list[Row]:
    name = benchmark.name
    try:
        module = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as exc:
        if exc.name in (f"bench.{name}", "bench"):
            return [Row("-", "not available")]
        traceback.print_exc()
        return [Row("-", _shorten(f"failed to import: {exc}"))]
    except Exception as exc:
        traceback.print_exc()
        return [Row("-", _shorten(f"failed to import: {type(exc).__name__}: {exc}"))]
    entry = getattr(module, "main", None) or getattr(module, "run", None)
    if entry is None:
        return [Row("-", "not available (no main or run)")]
    args = tuple(getattr(module, "QUICK_ARGS", benchmark.quick_args)) if quick else ()
    print(f"\n=== {name} {' '.join(args)}".rstrip(), flush=True)
    started = time.perf_counter()
    try:
        figures = _call(entry, args)
    except SystemExit as exc:
        if exc.code not in (0, None):
            return [Row("-", _shorten(f"failed: {exc.code}"))]
        figures = None
    except Exception as exc:
        traceback.print_exc()
        return [Row("-", _shorten(f"failed: {type(exc).__name__}: {exc}"))]
    print(f"=== {name}: {time.perf_counter() - started:.1f} s", flush=True)
    if not isinstance(figures, dict):
        return [Row("-", "ran; its main returns no figures (see its report above)")]
    try:
        return benchmark.describe(figures)
    except (KeyError, TypeError, ZeroDivisionError):
        return _any_figures(figures)


def _met(row: Row) -> str:
    return "-" if row.met is None else ("yes" if row.met else "NO")


def summary_table(rows: Sequence[Row]) -> str:
    return table(
        ["benchmark", "figure", "value", "baseline", "ratio", "goal", "met?"],
        [
            [
                row.benchmark,
                row.figure,
                row.value,
                row.baseline,
                "-" if row.ratio is None else f"{row.ratio:.3g}",
                row.goal,
                _met(row),
            ]
            for row in rows
        ],
    )


def main(argv: list[str] | None = None) -> int:
    names = [benchmark.name for benchmark in BENCHMARKS]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not a measurement")
    parser.add_argument("--only", help=f"comma-separated subset of {', '.join(names)}")
    args = parser.parse_args(argv)
    chosen = BENCHMARKS
    if args.only:
        wanted = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(names)}")
        chosen = tuple(b for b in BENCHMARKS if b.name in wanted)
    rows: list[Row] = []
    failed = False
    for benchmark in chosen:
        found = run_one(benchmark, quick=args.quick)
        failed = failed or any(row.value.startswith("failed") for row in found)
        rows.extend(found)
    mode = "quick run: tiny sizes, figures are not measurements" if args.quick else "full run"
    print(f"\nsummary ({mode}) — {machine()}")
    print(summary_table(rows))
    return 1 if failed else 0
