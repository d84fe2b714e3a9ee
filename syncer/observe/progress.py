"""On a terminal (never in logs or pipes): a live progress bar while a run goes, and a short
table of its summary at the end.

The bar shows done/total (a file's total from a cheap line count; a counter when unknown), the
percentage, the ETA, sessions/s and the counts by outcome. It is drawn on stderr by rich's
`Live`, which redirects stderr while it runs, so log lines print above it instead of through
it; it is transient: gone when the run ends.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from typing import Any

import anyio
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from syncer.observe.heartbeat import settled
from syncer.outcomes import RunSummary

REFRESH_S = 0.5


def wanted(setting: bool | None) -> bool:
    """`--progress` asks for it, `--no-progress` refuses it; either way only on a terminal."""
    return sys.stderr.isatty() and setting is not False


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def line_count(path: str, block: int = 1 << 20) -> int | None:
    """Lines in a file, counted in binary blocks (a second or so per hundred million lines):
    the run's total before it starts. Blank and comment lines count too: an upper bound."""
    try:
        count, last = 0, b"\n"
        with open(path, "rb") as handle:
            while chunk := handle.read(block):
                count += chunk.count(b"\n")
                last = chunk[-1:]
        return count + (last != b"\n")
    except OSError:
        return None


def describe(summary: RunSummary, elapsed: float, total: int | None = None) -> Text:
    """The words beside the bar: done/total, percentage, ETA, rate and counts."""
    done = settled(summary)
    rate = done / elapsed if elapsed > 0 else 0.0
    if total:
        shown = min(done, total)
        eta = _clock((total - shown) / rate) if rate > 0 else "-:--:--"
        head = f"{done:,}/{total:,} {100 * shown / total:5.1f}% ETA {eta} "
    else:
        head = f"{done:,} done "
    return Text.assemble(
        ("syncer ", "bold"),
        head,
        f"· {rate:,.0f} sessions/s · ",
        (f"{summary.inserted} new, {summary.updated} updated, {summary.unchanged} unchanged", "dim"),
        " · ",
        (f"{summary.not_found} not found", "yellow" if summary.not_found else "dim"),
        " · ",
        (f"{summary.failed} failed", "red" if summary.failed else "dim"),
        f" · {summary.retries} retries" if summary.retries else "",
    )


def render(summary: RunSummary, elapsed: float, total: int | None = None) -> RenderableType:
    done = settled(summary)
    bar = ProgressBar(
        total=float(total) if total else None, completed=float(min(done, total or done)), width=30
    )
    text = describe(summary, elapsed, total)
    grid = Table.grid(padding=(0, 1))
    grid.add_row(bar, text)
    return grid


async def show(summary: RunSummary, total: int | None = None) -> None:
    """Redraw until cancelled (the run's watcher task group cancels it at the end)."""
    started = time.monotonic()
    console = Console(stderr=True)
    with Live(render(summary, 0, total), console=console, transient=True, auto_refresh=False) as live:
        while True:
            await anyio.sleep(REFRESH_S)
            live.update(render(summary, time.monotonic() - started, total), refresh=True)


def print_summary(finished: Mapping[str, Any]) -> None:
    """The end of a run as a short table, on a terminal only (the `run.finished` line says the
    same to machines)."""
    if not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
        return
    table = Table(
        title=f"run {str(finished.get('run_id', ''))[:12]}: {finished.get('status')}", show_header=False
    )
    table.add_column(style="bold")
    table.add_column(justify="right")
    for name in ("requested", "inserted", "updated", "unchanged", "stale", "not_found", "failed", "retries"):
        if name in finished:
            table.add_row(name.replace("_", " "), f"{finished[name]:,}")
    table.add_row("duration", _clock(float(finished.get("duration_s", 0))))
    table.add_row("per second", f"{finished.get('sessions_per_s', 0)}")
    Console(stderr=True).print(Group(table))
