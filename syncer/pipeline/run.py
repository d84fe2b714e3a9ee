"""One run: a source's ids through the gateway and the parser into the warehouse.

    ids ──▶ [producer] ──(bounded)──▶ [N fetchers] ──(bounded)──▶ [writers: batches] ──▶ store

Memory stays flat: both queues are bounded, and nothing holds all ids or all documents; the
documents between fetching and committing are also bounded in bytes (`budget`,
`--max-inflight-mb`), a batch committed early once it weighs its share of that budget.
Stopping (SIGTERM/SIGINT, `--max-runtime`, `--limit`) closes the producer at once; the
fetchers finish what they hold and the writer commits it, within `--shutdown-grace`; past
that, in-flight work is cancelled and rolled back (never half-written).

Database faults are the run's, never one id's (`db_guard`): a lost connection is retried for
`--db-retry-seconds`, then the run stops with exit 2; its end (failures, leases, the `sync_runs`
row) is then tried once, briefly, and `run.finished` is logged whatever the database does.
"""

from __future__ import annotations

import json
import math
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import IO, Any

import anyio
import sqlalchemy as sa
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from syncer.clock import now
from syncer.documents.rows import SessionBundle
from syncer.errors import CredentialsRejected, DatabaseLost, GatewayUnusable
from syncer.gateway.client import GatewayClient
from syncer.observe import progress
from syncer.observe.logs import Redactor, get_logger
from syncer.observe.metrics import Metrics
from syncer.outcomes import EXIT_INTERRUPTED, ExitCode, Failure, FailureKind, Outcome, RunStatus, RunSummary
from syncer.pipeline import handoff
from syncer.pipeline.batches import batches
from syncer.pipeline.budget import MB, ByteBudget, Ticket
from syncer.pipeline.db_guard import DbGuard
from syncer.pipeline.fetch import fetch_bundle
from syncer.pipeline.health import GatewayHealth
from syncer.pipeline.observing import Observer
from syncer.pipeline.run_end import RunEnd
from syncer.settings import Settings
from syncer.sources.base import Source, SourceId
from syncer.warehouse import runs
from syncer.warehouse.faults import classify
from syncer.warehouse.store import Store

BATCH_WAIT_S = 1.0
Fetched = tuple[SessionBundle, Ticket]
"""A bundle on its way to the writers, with the memory budget it holds until committed."""
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
    guard: DbGuard = field(init=False)
    end: RunEnd = field(init=False)
    health: GatewayHealth = field(init=False)
    redactor: Redactor = field(init=False)
    """Scrubs the token from every failure message and id before it is stored or written."""
    budget: ByteBudget = field(init=False)
    """Bytes of documents between the fetch and the write stages (`--max-inflight-mb`)."""

    def __post_init__(self) -> None:
        signalled = lambda: self.signal_received is not None  # noqa: E731 - stop retrying on SIGTERM
        self.guard = DbGuard(self.store.url, self.settings.db_retry_seconds, stopping=signalled)
        self.end = RunEnd(self.guard, self.settings.db_timeout)
        self.health = GatewayHealth(self.settings.gateway_url or "")
        self.redactor = Redactor([self.settings.token_value or ""])
        self.budget = ByteBudget(int(self.settings.max_inflight_mb * MB))

    async def ending(self, step: str, action: Callable[[], Awaitable[None]]) -> None:
        await self.end.step(step, action, signalled=self.signal_received is not None)

    def fail(self, failure: Failure) -> None:
        """`failure` is counted when it is settled with the source (`flush_failures`)."""
        message = self.redactor.text(failure.message)
        if message != failure.message:
            failure = replace(failure, message=message)
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
        try:
            deferred = await self.guard.call(lambda: self.source.settle(failures))
        except BaseException:
            self.pending_failures[:0] = failures  # still to settle (the run's end tries again)
            raise
        recorded = [replace(f, id=self.redactor.text(f.id)) for f in failures]
        for failure, shown in zip(failures, recorded, strict=True):
            self.count_failure(shown, deferred=failure.id in deferred)
        await self.guard.call(lambda: self.store.record_failures(self.run_id, recorded, at=now()))

    # -- the pipeline -----------------------------------------------------------------------

    async def produce(self, send: MemoryObjectSendStream[str]) -> None:
        limit = self.settings.limit or math.inf
        async with send:
            async for given in self.ids():
                if self.stop.is_set():
                    break
                self.summary.requested += 1
                item = given
                if item.rejected is None and self.redactor.text(item.id) != item.id:
                    # Never sent (it would land in the gateway's access logs); recorded redacted.
                    message = "the id contains the gateway token"
                    item = replace(item, rejected=Failure(item.id, FailureKind.INVALID_ID, message))
                if item.rejected is not None:
                    self.fail(item.rejected)
                else:
                    try:
                        await handoff.send(send, item.id)
                    except anyio.BrokenResourceError:  # every fetcher is gone: the run is failing
                        break
                if self.summary.requested >= limit:
                    break

    async def ids(self) -> AsyncIterator[SourceId]:
        """The source's ids; a source in the database (the queue) resumes after a lost connection."""
        while True:
            try:
                async for item in self.source.ids(self.stop):
                    yield item
                return
            except Exception as error:
                if self.source.fence is None or classify(error) is None:
                    raise
                await self.guard.wait(error)  # pauses, or gives up: DatabaseLost

    async def fetch(self, ids: MemoryObjectReceiveStream[str], out: MemoryObjectSendStream[Fetched]) -> None:
        async with ids, out:
            policy = self.source.retry_policy(self.settings.max_attempts)
            future = timedelta(seconds=self.settings.future_tolerance)
            while not self.failing:
                try:
                    id = await handoff.receive(ids)
                except anyio.EndOfStream:
                    break
                ticket = Ticket(self.budget)
                try:
                    result = await fetch_bundle(
                        self.client, id, policy, self.summary, self.health, future, ticket
                    )
                except BaseException:
                    # Refused credentials (or cancellation): the task group cancels the others at
                    # its next turn; until then none starts another request (the hand-offs no
                    # longer give up the loop between two requests).
                    self.failing = True
                    raise
                if isinstance(result, Failure):
                    self.fail(result)
                    continue
                item = (result, ticket)
                del result
                try:
                    await handoff.send(out, item)
                except anyio.BrokenResourceError:  # every writer is gone: its error is the run's
                    ticket.release()
                    break
                except BaseException:
                    ticket.release()
                    raise
                # Hold nothing of it while waiting for the next id: an idle fetcher that kept its
                # last bundle kept it after its batch was committed (32 fetchers, 32 documents).
                del item

    async def write(self, fetched: MemoryObjectReceiveStream[Fetched]) -> None:
        # A batch of big documents is committed before it holds more than its share of the budget.
        weight = self.budget.capacity // (self.writers + 1)
        batched = batches(fetched, self.settings.batch_size, BATCH_WAIT_S, weigh=_held, max_weight=weight)
        async with fetched, aclosing(batched):
            async for batch in batched:
                if batch:
                    try:
                        await self.commit([bundle for bundle, _ in batch])
                    finally:
                        for _, ticket in batch:
                            ticket.release()
                        del batch  # not held while the next batch comes (its budget is given back)
                elif self.pending_failures:
                    await self.flush_failures()

    async def commit(self, batch: list[SessionBundle]) -> None:
        try:
            write = partial(self.store.write, batch, now=now(), fence=self.source.fence, run_id=self.run_id)
            outcomes = await self.guard.call(write)
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
                write = partial(
                    self.store.write, [bundle], now=now(), fence=self.source.fence, run_id=self.run_id
                )
                outcomes.update(await self.guard.call(write))
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
        out_send, out_recv = anyio.create_memory_object_stream[Fetched](self.settings.batch_size * 2)
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
            tg.start_soon(self.guard.call, self.source.background)
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

    async def begin(self, started: datetime) -> None:
        """Mark the runs whose process died `abandoned`, then record this one as `running`."""
        abandoned = await runs.mark_abandoned(self.store.engine, started)
        if abandoned:
            log.warning("run.abandoned_found", runs=len(abandoned), example=abandoned[0])
        await self.store.start_run(self.run_id, self.source.name, started)

    async def execute(self) -> int:
        started, clock = now(), time.monotonic()
        await self.begin(started)
        metrics = self.client.metrics or Metrics()
        metrics.bind(self.summary)
        observer = self.observer = Observer(
            self.settings, self.store, self.run_id, self.source.name, self.summary, metrics, self.total
        )
        await self.guard.call(lambda: observer.started(started))
        status, code = await self.drive()
        # Before the exit code: queue failures count when settled.
        await self.ending("failures", self.flush_failures)
        released: list[int | None] = [None]

        async def release() -> None:
            released[0] = await self.source.release()

        await self.ending("leases", release)
        self.summary.duration_s = time.monotonic() - clock
        status, code = self.verdict(status, code)

        async def finish() -> None:
            await self.store.finish_run(
                self.run_id, self.summary, status=status, exit_code=code, finished_at=now()
            )

        await self.ending("run_row", finish)
        if self.end.incomplete is not None and code != ExitCode.USAGE:
            log.error("run.database_lost", message=self.end.incomplete)
            status, code = RunStatus.FAILED, ExitCode.USAGE
        finished = self.report(status, code, released[0])
        with anyio.CancelScope(shield=True):
            await observer.finished(status, finished)
        return code

    async def drive(self) -> tuple[RunStatus, ExitCode]:
        """The pipeline and its watcher, to their end; what ended the run early, if anything."""
        status, code = RunStatus.OK, ExitCode.OK
        unusable: BaseException | None = None
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.watch, tg.cancel_scope)
                await self.pipeline()
                tg.cancel_scope.cancel()
        except* CredentialsRejected as group:
            log.error("run.credentials_rejected", message=str(_first_leaf(group)))
            status, code = RunStatus.CREDENTIALS_REJECTED, ExitCode.CREDENTIALS
        except* DatabaseLost as group:
            log.error("run.database_lost", message=str(_first_leaf(group)))
            status, code = RunStatus.FAILED, ExitCode.USAGE
        except* GatewayUnusable as group:
            unusable = _first_leaf(group)
        else:
            if self.signal_received is None:
                try:
                    self.health.verdict()
                except GatewayUnusable as error:
                    unusable = error
        if unusable is not None:
            log.error("run.gateway_unusable", message=str(unusable))
            status, code = RunStatus.FAILED, ExitCode.USAGE
        return status, code

    def verdict(self, status: RunStatus, code: ExitCode) -> tuple[RunStatus, ExitCode]:
        """The run's status and exit code, from how it ended and what became of its ids."""
        if code == ExitCode.OK:
            code = self.summary.exit_code()
            status = RunStatus.FAILED if code else RunStatus.OK
            if self.health.degraded:  # an outage: no request answered while ids were due
                log.error("run.degraded", attempts=self.health.attempts, gateway_url=self.health.url)
                status, code = RunStatus.DEGRADED, ExitCode.FAILED
        if self.signal_received is not None and code != ExitCode.USAGE:
            status, code = RunStatus.INTERRUPTED, EXIT_INTERRUPTED[signal.Signals(self.signal_received)]
        if self.end.incomplete is not None and code != ExitCode.USAGE:
            # Not a clean drain, whatever the ids did: the database could not take the run's end.
            log.error("run.database_lost", message=self.end.incomplete)
            status, code = RunStatus.FAILED, ExitCode.USAGE
        return status, code

    def report(self, status: RunStatus, code: ExitCode, pending_left: int | None) -> dict[str, Any]:
        """The one `run.finished` line (and `--summary-out`); what it said."""
        finished = {"run_id": self.run_id, "source": self.source.name, "status": status, "exit_code": code}
        if self.settings.shard:
            finished["shard"] = self.settings.shard
        finished.update(self.summary.as_dict())
        if pending_left is not None:
            finished["pending_left"] = pending_left  # queue: ids still pending or leased (not failures)
        log.info("run.finished", **finished)
        if self.settings.summary_out:
            self.settings.summary_out.write_text(json.dumps(finished) + "\n", encoding="utf-8")
        return finished


def _held(item: Fetched) -> int:
    return item[1].held


def _first_leaf(error: BaseException) -> BaseException:
    """The first exception inside (possibly nested) exception groups."""
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
