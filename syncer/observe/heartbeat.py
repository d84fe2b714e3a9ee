"""A live run reports itself: every `min(--progress-interval, 60)` s the `sync_runs` row gets
its counts and a fresh `heartbeat_at`; every `--progress-interval` s a structured
`run.progress` line is logged (off a terminal) and the metrics are pushed.

The warehouse is not imported here (layers): the pipeline passes `record`, an async callable
that writes the row and returns the queue's lag (or None for a file run).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio

from syncer.observe.logs import get_logger
from syncer.outcomes import RunSummary

HEARTBEAT_MAX_S = 60.0
"""The `sync_runs` heartbeat is never further apart than this (stale rows become `abandoned`)."""

log = get_logger("syncer.observe.heartbeat")


class Lag(Protocol):
    """The queue's lag (`warehouse.runs.QueueLag`)."""

    @property
    def due(self) -> int: ...
    @property
    def deferred(self) -> int: ...
    @property
    def oldest_due_age_s(self) -> float | None: ...


Record = Callable[[RunSummary, float], Awaitable[Lag | None]]
"""Write the counts and the heartbeat (the summary, seconds since the start); the queue's lag."""


def settled(summary: RunSummary) -> int:
    """Ids this run is done with, whatever happened to them."""
    s = summary
    return s.inserted + s.updated + s.unchanged + s.stale + s.not_found + s.failed + s.deferred + s.lease_lost


def progress_fields(
    summary: RunSummary, elapsed: float, total: int | None, lag: Lag | None = None
) -> dict[str, Any]:
    """What a `run.progress` line says: done/total, rate, ETA, counts by outcome, retries, lag."""
    done = settled(summary)
    rate = done / elapsed if elapsed > 0 else 0.0
    out: dict[str, Any] = {"done": done, "total": total}
    if total:
        out["percent"] = round(100.0 * min(done, total) / total, 1)
        out["eta_s"] = round((total - done) / rate, 1) if rate > 0 and total > done else None
    out["sessions_per_s"] = round(rate, 1)
    out["elapsed_s"] = round(elapsed, 1)
    for name in ("requested", "fetched", "inserted", "updated", "unchanged", "stale", "not_found", "failed"):
        out[name] = getattr(summary, name)
    out["deferred"] = summary.deferred
    out["retries"] = summary.retries
    if lag is not None:
        out["queue_due"] = lag.due
        out["queue_deferred"] = lag.deferred
        out["queue_lag_s"] = lag.oldest_due_age_s
    return out


async def every(interval: float, report: Callable[[], None]) -> None:
    """Call `report` every `interval` seconds until cancelled (`enqueue`'s progress lines)."""
    while True:
        await anyio.sleep(interval)
        report()


@dataclass
class Heartbeat:
    run_id: str
    summary: RunSummary
    interval: float
    """--progress-interval."""
    record: Record
    log_progress: bool
    """Log `run.progress` lines (off a terminal; on one the bar shows the same)."""
    total: int | None = None
    on_progress: Callable[[Lag | None], Awaitable[None]] | None = None
    """Called each progress interval (and given the lag): metrics, the Pushgateway."""
    started: float = field(default_factory=time.monotonic)
    lag: Lag | None = None

    async def beat(self) -> None:
        """Write the row once; a database hiccup is logged, never fatal to the run."""
        try:
            self.lag = await self.record(self.summary, time.monotonic() - self.started)
        except Exception as error:  # the run's own writes report a lost database
            log.warning("run.heartbeat_failed", run_id=self.run_id, error=type(error).__name__)

    async def progress(self) -> None:
        if self.log_progress:
            elapsed = time.monotonic() - self.started
            log.info(
                "run.progress",
                run_id=self.run_id,
                **progress_fields(self.summary, elapsed, self.total, self.lag),
            )
        if self.on_progress is not None:
            try:
                await self.on_progress(self.lag)
            except Exception as error:
                log.warning("run.progress_hook_failed", run_id=self.run_id, error=type(error).__name__)

    async def run(self) -> None:
        """Until cancelled (the run's watcher task group cancels it at the end)."""
        every = min(self.interval, HEARTBEAT_MAX_S)
        next_progress = self.started + self.interval
        while True:
            await anyio.sleep(every)
            await self.beat()
            if time.monotonic() >= next_progress - every / 10:
                next_progress += self.interval
                await self.progress()
