"""Wires a run's observability: the `run.started` line, the `sync_runs` heartbeat (through
`warehouse.runs`), `run.progress` lines, the metrics (`--metrics-port`, `--pushgateway-url`)
and the summary table on a terminal. `Run` calls `started`, runs `heartbeat().run` in its
watcher, and calls `finished` once at the end.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import anyio.to_thread

from syncer import __version__
from syncer.clock import now
from syncer.observe import progress
from syncer.observe.heartbeat import Heartbeat, Lag
from syncer.observe.logs import get_logger
from syncer.observe.metrics import Metrics
from syncer.outcomes import RunSource, RunStatus, RunSummary
from syncer.settings import Settings
from syncer.warehouse import runs
from syncer.warehouse.database import redact_url
from syncer.warehouse.store import Store

PUSH_TIMEOUT_S = 5.0
JOB = "syncer"
log = get_logger("syncer.pipeline.run")


def public_url(url: str | None) -> str | None:
    """`url` without user, password, query or fragment: safe to log and store."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def started_fields(settings: Settings) -> dict[str, Any]:
    """The settings a `run.started` line shows: every one but the token, URLs without secrets."""
    shown = settings.model_dump(exclude={"token", "summary_out"})
    shown["gateway_url"] = public_url(settings.gateway_url)
    shown["database_url"] = redact_url(settings.database_url)
    shown["pushgateway_url"] = public_url(settings.pushgateway_url)
    shown["failed_out"] = str(settings.failed_out) if settings.failed_out else None
    shown["token_set"] = settings.token is not None
    return shown


def instance_of(source: str, settings: Settings) -> str:
    """The Pushgateway grouping key's instance: stable from one run to the next (a CronJob's
    pods replace their group instead of piling up), one per shard."""
    shard = settings.shard_spec
    return f"{source}-shard-{shard[0]}-of-{shard[1]}" if shard else source


@dataclass
class Observer:
    settings: Settings
    store: Store
    run_id: str
    source: str
    summary: RunSummary
    metrics: Metrics
    total: int | None = None
    server: Any = None
    clock: float = field(default_factory=time.monotonic)

    async def started(self, at: datetime) -> None:
        await runs.mark_started(
            self.store,
            self.run_id,
            syncer_version=__version__,
            gateway_url=public_url(self.settings.gateway_url),
            at=at,
        )
        log.info(
            "run.started",
            run_id=self.run_id,
            source=self.source,
            syncer_version=__version__,
            host=socket.gethostname(),
            total=self.total,
            settings=started_fields(self.settings),
        )
        if self.settings.metrics_port:
            try:
                self.server = self.metrics.serve(self.settings.metrics_port)
            except OSError as error:
                log.warning("metrics.serve_failed", port=self.settings.metrics_port, error=str(error))

    def heartbeat(self, *, bar_shown: bool) -> Heartbeat:
        return Heartbeat(
            run_id=self.run_id,
            summary=self.summary,
            interval=self.settings.progress_interval,
            record=self.record,
            log_progress=not bar_shown,
            total=self.total,
            on_progress=self.on_progress,
            started=self.clock,
        )

    async def record(self, summary: RunSummary, elapsed: float) -> Lag | None:
        await runs.heartbeat(self.store, self.run_id, summary, at=now(), duration_s=elapsed)
        if self.source != RunSource.QUEUE:
            return None
        lag = await runs.queue_lag(self.store, now())
        self.metrics.queue_lag(lag.due, lag.oldest_due_age_s)
        return lag

    async def on_progress(self, lag: Lag | None) -> None:
        await self.push()

    async def push(self) -> None:
        url = self.settings.pushgateway_url
        if not url:
            return
        instance = instance_of(self.source, self.settings)
        try:
            with anyio.fail_after(PUSH_TIMEOUT_S + 5):
                await anyio.to_thread.run_sync(
                    lambda: self.metrics.push(url, job=JOB, instance=instance, timeout=PUSH_TIMEOUT_S),
                    abandon_on_cancel=True,
                )
        except Exception as error:  # an unreachable Pushgateway never fails the run
            log.warning("metrics.push_failed", url=public_url(url), error=type(error).__name__)

    async def finished(self, status: str, finished: dict[str, Any]) -> None:
        """Final metrics and push (shielded by the caller), then the terminal summary table."""
        self.metrics.set_status(status)
        self.metrics.tick()
        if self.source == RunSource.QUEUE:
            try:
                lag = await runs.queue_lag(self.store, now())
                self.metrics.queue_lag(lag.due, lag.oldest_due_age_s)
            except Exception:  # the database may be what failed this run
                log.warning("metrics.queue_lag_failed", run_id=self.run_id)
        if status == RunStatus.OK:
            self.metrics.last_success.set(time.time())
        else:
            try:
                last = await runs.last_success(self.store)
            except Exception:  # the database may be what failed this run
                last = None
            if last is not None:
                self.metrics.last_success.set(last.timestamp())
        await self.push()
        if self.server is not None:
            self.server.shutdown()
        if progress.wanted(self.settings.progress):  # not in `--processes` children (nor piped)
            progress.print_summary(finished)
