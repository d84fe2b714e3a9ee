"""One run: a source's ids through the gateway and the parser into the warehouse.

    ids ──▶ [producer] ──(bounded)──▶ [N fetchers] ──(bounded)──▶ [writers: batches] ──▶ store

Memory stays flat: both queues are bounded, and nothing holds all ids or all documents.
Stopping (SIGTERM/SIGINT, `--max-runtime`, `--limit`) closes the producer at once; the
fetchers finish what they hold and the writer commits it, within `--shutdown-grace`; past
that, in-flight work is cancelled and rolled back (never half-written).
"""

from __future__ import annotations

import json
import math
import signal
import time
import uuid
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import IO

import anyio
import sqlalchemy as sa
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from syncer.clock import now
from syncer.documents.rows import SessionBundle
from syncer.errors import CredentialsRejected, DatabaseUnavailable
from syncer.gateway.client import GatewayClient
from syncer.observe import progress
from syncer.observe.logs import get_logger
from syncer.observe.metrics import Metrics
from syncer.outcomes import EXIT_INTERRUPTED, ExitCode, Failure, FailureKind, Outcome, RunStatus, RunSummary
from syncer.pipeline import handoff
from syncer.pipeline.batches import batches
from syncer.pipeline.fetch import fetch_bundle
from syncer.pipeline.observing import Observer
from syncer.settings import Settings
from syncer.sources.base import Source
from syncer.warehouse.store import Store

BATCH_WAIT_S = 1.0
log = get_logger("syncer.pipeline.run")


@dataclass
class Run:
    """One run's state: the summary, the failures not yet recorded, how it is stopping."""

    settings: Settings
    store: Store
    client: GatewayClient
    source: Source
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    summary: RunSummary = field(default_factory=RunSummary)
    pending_failures: list[Failure] = field(default_factory=list)
    stop: anyio.Event = field(default_factory=anyio.Event)
    signal_received: int | None = None
    failed_out: IO[str] | None = None
    failing: bool = False
    """A fetcher raised: the run is ending with an error, no fetcher starts another request."""
    total: int | None = None
    """Ids expected, when known cheaply (a file's line count): the progress bar's total."""
    observer: Observer | None = None

    def fail(self, failure: Failure) -> None:
        """`failure` is counted when it is settled with the source (`flush_failures`)."""
        self.pending_failures.append(failure)

    def count_failure(self, failure: Failure, *, deferred: bool) -> None:
        if deferred:
            self.summary.add(Outcome.DEFERRED)
        elif failure.kind == FailureKind.NOT_FOUND:
            self.summary.add(Outcome.NOT_FOUND)
        else:
            self.summary.add(Outcome.FAILED)
            log.warning(
                "id.failed",
                id=failure.id,
                kind=failure.kind,
                http_status=failure.http_status,
                message=failure.message,
            )
            if self.failed_out and failure.kind != FailureKind.INVALID_ID:
                self.failed_out.write(failure.id + "\n")

    async def flush_failures(self) -> None:
        failures, self.pending_failures = self.pending_failures, []
        if not failures:
            return
        deferred = await self.source.settle(failures)
        for failure in failures:
            self.count_failure(failure, deferred=failure.id in deferred)
        await self.store.record_failures(self.run_id, failures, at=now())

    # -- the pipeline -----------------------------------------------------------------------

    async def produce(self, send: MemoryObjectSendStream[str]) -> None:
        limit = self.settings.limit or math.inf
        async with send:
            async for item in self.source.ids(self.stop):
                if self.stop.is_set():
                    break
                self.summary.requested += 1
                if item.rejected is not None:
                    self.fail(item.rejected)
                else:
                    try:
                        await handoff.send(send, item.id)
                    except anyio.BrokenResourceError:  # every fetcher is gone: the run is failing
                        break
                if self.summary.requested >= limit:
                    break

    async def fetch(
        self, ids: MemoryObjectReceiveStream[str], out: MemoryObjectSendStream[SessionBundle]
    ) -> None:
        async with ids, out:
            policy = self.source.retry_policy(self.settings.max_attempts)
            while not self.failing:
                try:
                    id = await handoff.receive(ids)
                except anyio.EndOfStream:
                    break
                try:
                    result = await fetch_bundle(self.client, id, policy, self.summary)
                except BaseException:
                    # Refused credentials (or cancellation): the task group cancels the others at
                    # its next turn; until then none starts another request (the hand-offs no
                    # longer give up the loop between two requests).
                    self.failing = True
                    raise
                if isinstance(result, Failure):
                    self.fail(result)
                    continue
                try:
                    await handoff.send(out, result)
                except anyio.BrokenResourceError:  # every writer is gone: its error is the run's
                    break

    async def write(self, bundles: MemoryObjectReceiveStream[SessionBundle]) -> None:
        async with bundles, aclosing(batches(bundles, self.settings.batch_size, BATCH_WAIT_S)) as batched:
            async for batch in batched:
                if batch:
                    await self.commit(batch)
                elif self.pending_failures:
                    await self.flush_failures()

    async def commit(self, batch: list[SessionBundle]) -> None:
        try:
            outcomes = await self.store.write(batch, now=now(), fence=self.source.fence)
        except (OSError, sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            raise DatabaseUnavailable(f"lost the database: {type(error).__name__}") from None
        except sa.exc.DBAPIError:
            outcomes = await self.commit_one_by_one(batch)
        for outcome in outcomes.values():
            self.summary.add(outcome)
        lost = {b.id for b in batch} - outcomes.keys() - {f.id for f in self.pending_failures}
        if lost:
            self.summary.lease_lost += len(lost)
            log.warning("queue.lease_lost", ids=len(lost), example=min(lost))
        await self.flush_failures()

    async def commit_one_by_one(self, batch: list[SessionBundle]) -> dict[str, Outcome]:
        """A batch the database refused: find the one bad document, keep all the others."""
        outcomes: dict[str, Outcome] = {}
        for bundle in batch:
            try:
                outcomes.update(await self.store.write([bundle], now=now(), fence=self.source.fence))
            except sa.exc.DBAPIError as error:
                message = str(error.orig).splitlines()[0] if error.orig else type(error).__name__
                self.fail(Failure(bundle.id, FailureKind.WRITE_ERROR, message[:500]))
        return outcomes

    @property
    def writers(self) -> int:
        """Batches written at once. On PostgreSQL two: one batch commits while the next is
        copied in (faster, measured side by side: docs/benchmark.md); concurrent batches are
        safe there (row locks in key order, version guards). SQLite has one writer anyway."""
        return 2 if self.store.dialect == "postgresql" else 1

    async def pipeline(self) -> None:
        concurrency = self.settings.concurrency
        id_send, id_recv = anyio.create_memory_object_stream[str](concurrency)
        out_send, out_recv = anyio.create_memory_object_stream[SessionBundle](self.settings.batch_size * 2)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.produce, id_send)
            async with id_recv, out_send:
                for _ in range(concurrency):
                    tg.start_soon(self.fetch, id_recv.clone(), out_send.clone())
            async with out_recv:
                for _ in range(self.writers):
                    tg.start_soon(self.write, out_recv.clone())

    async def watch(self, scope: anyio.CancelScope) -> None:
        """Stop on SIGTERM/SIGINT or at --max-runtime; cancel in-flight work after the grace."""
        async with anyio.create_task_group() as tg:
            if self.settings.max_runtime:
                tg.start_soon(self._stop_after, self.settings.max_runtime)
            tg.start_soon(self.source.background)
            bar = progress.wanted(self.settings.progress)
            if bar:
                tg.start_soon(progress.show, self.summary, self.total)
            if self.observer is not None:
                tg.start_soon(self.observer.heartbeat(bar_shown=bar).run)
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    if self.signal_received is not None:  # a second signal: stop now
                        scope.cancel()
                        return
                    self.signal_received = signum
                    log.warning(
                        "run.stopping",
                        signal=signal.Signals(signum).name,
                        grace_s=self.settings.shutdown_grace,
                    )
                    self.stop.set()
                    tg.start_soon(self._cancel_after, scope, self.settings.shutdown_grace)

    async def _stop_after(self, seconds: float) -> None:
        await anyio.sleep(seconds)
        log.info("run.max_runtime_reached", max_runtime_s=seconds)
        self.stop.set()

    @staticmethod
    async def _cancel_after(scope: anyio.CancelScope, seconds: float) -> None:
        await anyio.sleep(seconds)
        scope.cancel()

    async def execute(self) -> int:
        started, clock = now(), time.monotonic()
        source_name = self.source.name
        await self.store.start_run(self.run_id, source_name, started)
        metrics = self.client.metrics or Metrics()
        metrics.bind(self.summary)
        self.observer = Observer(
            self.settings, self.store, self.run_id, source_name, self.summary, metrics, self.total
        )
        await self.observer.started(started)
        status, code = RunStatus.OK, ExitCode.OK
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.watch, tg.cancel_scope)
                await self.pipeline()
                tg.cancel_scope.cancel()
        except* CredentialsRejected as group:
            log.error("run.credentials_rejected", message=str(_first_leaf(group)))
            status, code = RunStatus.CREDENTIALS_REJECTED, ExitCode.CREDENTIALS
        with anyio.CancelScope(shield=True):
            await self.flush_failures()  # before the exit code: queue failures count when settled
            await self.source.release()
        self.summary.duration_s = time.monotonic() - clock
        if code == ExitCode.OK:
            code = self.summary.exit_code()
            status = RunStatus.FAILED if code else RunStatus.OK
        if self.signal_received is not None:
            status, code = RunStatus.INTERRUPTED, EXIT_INTERRUPTED[signal.Signals(self.signal_received)]
        with anyio.CancelScope(shield=True):
            await self.store.finish_run(
                self.run_id, self.summary, status=status, exit_code=code, finished_at=now()
            )
        finished = {"run_id": self.run_id, "source": source_name, "status": status, "exit_code": code}
        if self.settings.shard:
            finished["shard"] = self.settings.shard
        finished.update(self.summary.as_dict())
        log.info("run.finished", **finished)
        if self.settings.summary_out:
            self.settings.summary_out.write_text(json.dumps(finished) + "\n", encoding="utf-8")
        with anyio.CancelScope(shield=True):
            await self.observer.finished(status, finished)
        return code


def _first_leaf(error: BaseException) -> BaseException:
    """The first exception inside (possibly nested) exception groups."""
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
