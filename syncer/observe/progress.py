"""A progress line on a terminal (never in logs or pipes): counts so far and the rate."""

from __future__ import annotations

import sys
import time

import anyio
from rich.console import Console
from rich.live import Live
from rich.text import Text

from syncer.outcomes import RunSummary

REFRESH_S = 0.5


def wanted(setting: bool | None) -> bool:
    """`--progress` asks for it, `--no-progress` refuses it; either way only on a terminal."""
    return sys.stderr.isatty() and setting is not False


def render(summary: RunSummary, elapsed: float) -> Text:
    done = summary.inserted + summary.updated + summary.unchanged + summary.stale
    rate = done / elapsed if elapsed > 0 else 0.0
    return Text.assemble(
        ("syncer ", "bold"),
        f"{summary.requested} read · {done} synced ",
        (f"({summary.inserted} new, {summary.updated} updated, {summary.unchanged} unchanged) ", "dim"),
        (f"{summary.not_found} not found · ", "yellow" if summary.not_found else "dim"),
        (f"{summary.failed} failed", "red" if summary.failed else "dim"),
        f" · {rate:,.0f}/s",
    )


async def show(summary: RunSummary) -> None:
    """Redraw until cancelled (the run's watcher task group cancels it at the end)."""
    started = time.monotonic()
    console = Console(stderr=True)
    with Live(render(summary, 0), console=console, transient=True, auto_refresh=False) as live:
        while True:
            await anyio.sleep(REFRESH_S)
            live.update(render(summary, time.monotonic() - started), refresh=True)
