"""``crmhub identity run`` on a terminal: a progress bar per phase and a summary table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..hub import Hub
from .reader import Progress as ProgressCallback
from .run import IdentityRunReport, run_identity_resolution

_PHASES = {"read": "reading", "store": "storing", "match": "matching", "write": "writing"}


@contextmanager
def _progress_bar(console: Console) -> Iterator[ProgressCallback]:
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:>8,.0f} records"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def finish(task: TaskID) -> None:
        done = max(int(bar.tasks[task].completed), 1)
        bar.update(task, completed=done, total=done)

    def report(phase: str, detail: str, done: int, total: int | None) -> None:
        key = f"{phase}:{detail}" if phase == "read" else phase
        for other, task in tasks.items():  # an earlier phase is over once a later one starts
            if other != key and bar.tasks[task].total is None:
                finish(task)
        if phase == "done":
            return
        name = f"{_PHASES.get(phase, phase)} {detail}".strip()
        if key not in tasks:
            tasks[key] = bar.add_task(name, total=None)
        bar.update(tasks[key], description=name, completed=done, total=total)

    with bar:
        yield report


def summary_table(report: IdentityRunReport) -> Table:
    table = Table(title="identity resolution", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value", justify="right")
    kind = (
        "full" + (f" ({report.full_reason})" if report.full_reason else "") if report.full else "incremental"
    )
    table.add_row("run", kind)
    for key, count in report.records_read.items():
        table.add_row(f"read {key}", f"{count:,}")
    table.add_row("records changed / deleted", f"{report.records_changed:,} / {report.records_deleted:,}")
    table.add_row("records known", f"{report.records_total:,}")
    table.add_row("pairs compared", f"{report.compared_pairs:,}")
    for rule, count in report.rule_matches.items():
        table.add_row(f"  matched by {rule}", f"{count:,}")
    table.add_row("ambiguous (left unlinked)", f"{report.ambiguous_records:,}")
    table.add_row("clusters / singletons", f"{report.clusters:,} / {report.singletons:,}")
    write = report.write
    table.add_row(
        "customers",
        f"{report.customers:,} ({write.customers_created:,} new, {write.customers_merged:,} merged)",
    )
    table.add_row(
        "links",
        f"{report.links:,} (+{write.links_added:,} ~{write.links_changed:,} -{write.links_removed:,})",
    )
    phases = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in report.phases.items())
    table.add_row("time", f"{report.seconds:.1f}s ({phases})")
    return table


async def run_with_progress(hub: Hub, *, full: bool, console: Console | None = None) -> IdentityRunReport:
    console = console or Console()
    with _progress_bar(console) as report:
        result = await run_identity_resolution(hub, full=full, progress=report)
    console.print(summary_table(result))
    return result
