"""The composition root: wires a source, the gateway client and the store into one run.

    ids ──▶ [producer] ──(bounded)──▶ [N fetchers] ──(bounded)──▶ [writers: batches] ──▶ store

Memory stays flat: both queues are bounded, and nothing holds all ids or all documents.
Stopping (SIGTERM/SIGINT, `--max-runtime`, `--limit`) closes the producer at once; the
fetchers finish what they hold and the writer commits it, within `--shutdown-grace`; past
that, in-flight work is cancelled and rolled back (never half-written).
"""

from __future__ import annotations

import gc
import json
import math
import signal
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import IO, Any

import anyio
import sqlalchemy as sa
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from syncer import handoff, progress, retry
from syncer.client import GatewayClient
from syncer.clock import now
from syncer.errors import CredentialsRejected, DatabaseUnavailable
from syncer.fetch import fetch_bundle
from syncer.logs import get_logger
from syncer.migrate import ensure_schema
from syncer.queue_store import Queue
from syncer.queue_worker import QueueLease
from syncer.ratelimit import RateLimiter
from syncer.rows import SessionBundle
from syncer.settings import Settings
from syncer.sources import SourceId, file_ids, only_shard
from syncer.store import Fence, Store
from syncer.summary import EXIT_INTERRUPTED, Failure, Outcome, RunSummary

BATCH_WAIT_S = 1.0
QUEUE_QUICK_TRIES = 3
log = get_logger("syncer.worker")


@dataclass
class Run:
    """One run's state: the summary, the failures not yet recorded, how it is stopping."""

    settings: Settings
    store: Store
    client: GatewayClient
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    summary: RunSummary = field(default_factory=RunSummary)
    pending_failures: list[Failure] = field(default_factory=list)
    stop: anyio.Event = field(default_factory=anyio.Event)
    signal_received: int | None = None
    failed_out: IO[str] | None = None
    queue: QueueLease | None = None
    failing: bool = False
    """A fetcher raised: the run is ending with an error, no fetcher starts another request."""

    @property
    def policy(self) -> retry.RetryPolicy:
        if self.queue:
            # From the queue, a claim retries a transient error a few times quickly (a dropped
            # keep-alive connection, a blip); past that the id goes back to the queue with a
            # backoff instead of holding its lease while it waits.
            return retry.RetryPolicy(max_attempts=QUEUE_QUICK_TRIES, cap=5.0)
        return retry.RetryPolicy(max_attempts=self.settings.max_attempts)

    @property
    def fence(self) -> Fence | None:
        return self.queue.fence if self.queue else None

    def fail(self, failure: Failure) -> None:
        self.pending_failures.append(failure)
        if not self.queue:
            self.count_failure(failure, deferred=False)

    def count_failure(self, failure: Failure, *, deferred: bool) -> None:
        if deferred:
            self.summary.add(Outcome.DEFERRED)
        elif failure.kind == "not_found":
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
            if self.failed_out and failure.kind != "invalid_id":
                self.failed_out.write(failure.id + "\n")

    async def flush_failures(self) -> None:
        failures, self.pending_failures = self.pending_failures, []
        if self.queue:
            deferred = await self.queue.settle(failures)
            for failure in failures:
                self.count_failure(failure, deferred=failure.id in deferred)
        await self.store.record_failures(self.run_id, failures, at=now())

    # -- the pipeline -----------------------------------------------------------------------

    async def produce(self, source: AsyncIterator[SourceId], send: MemoryObjectSendStream[str]) -> None:
        limit = self.settings.limit or math.inf
        async with send:
            async for item in source:
                if self.stop.is_set():
                    break
                self.summary.requested += 1
                if not item.valid and self.queue:
                    self.fail(Failure(item.id, "attempts_exhausted", "lease expired on every attempt"))
                elif not item.valid:
                    self.fail(Failure(item.id, "invalid_id", f"line {item.line}: not 1-64 of [A-Za-z0-9._-]"))
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
            policy = self.policy
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
        batch: list[SessionBundle] = []
        first_at = 0.0
        async with bundles:
            while True:
                try:
                    item: SessionBundle | None = bundles.receive_nowait()  # no timer when one is ready
                except (anyio.WouldBlock, anyio.EndOfStream):
                    item = None  # the end, too, is taken below: after a checkpoint, as anyio does
                if item is None:
                    wait = max(0.0, first_at + BATCH_WAIT_S - time.monotonic()) if batch else BATCH_WAIT_S
                    with anyio.move_on_after(wait):
                        try:
                            item = await bundles.receive()
                        except anyio.EndOfStream:
                            break
                if item is not None:
                    if not batch:
                        first_at = time.monotonic()
                    batch.append(item)
                full = len(batch) >= self.settings.batch_size
                if batch and (item is None or full or time.monotonic() >= first_at + BATCH_WAIT_S):
                    await self.commit(batch)
                    batch = []
                elif item is None and self.pending_failures:
                    await self.flush_failures()
        if batch:
            await self.commit(batch)

    async def commit(self, batch: list[SessionBundle]) -> None:
        try:
            outcomes = await self.store.write(batch, now=now(), fence=self.fence)
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
                outcomes.update(await self.store.write([bundle], now=now(), fence=self.fence))
            except sa.exc.DBAPIError as error:
                message = str(error.orig).splitlines()[0] if error.orig else type(error).__name__
                self.fail(Failure(bundle.id, "write_error", message[:500]))
        return outcomes

    @property
    def writers(self) -> int:
        """Batches written at once. On PostgreSQL two: one batch commits while the next is
        copied in (+6-12% sessions/s in bench/, measured side by side); concurrent batches are
        safe there (row locks in key order, version guards). SQLite has one writer anyway."""
        return 2 if self.store.dialect == "postgresql" else 1

    async def pipeline(self, source: AsyncIterator[SourceId]) -> None:
        concurrency = self.settings.concurrency
        id_send, id_recv = anyio.create_memory_object_stream[str](concurrency)
        out_send, out_recv = anyio.create_memory_object_stream[SessionBundle](self.settings.batch_size * 2)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.produce, source, id_send)
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
            if self.queue:
                tg.start_soon(self.queue.heartbeat)
            if progress.wanted(self.settings.progress):
                tg.start_soon(progress.show, self.summary)
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

    async def execute(self, source: AsyncIterator[SourceId], source_name: str) -> int:
        started, clock = now(), time.monotonic()
        await self.store.start_run(self.run_id, source_name, started)
        status, code = "ok", 0
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.watch, tg.cancel_scope)
                await self.pipeline(source)
                tg.cancel_scope.cancel()
        except* CredentialsRejected as group:
            log.error("run.credentials_rejected", message=str(_first_leaf(group)))
            status, code = "credentials_rejected", 3
        with anyio.CancelScope(shield=True):
            await self.flush_failures()  # before the exit code: queue failures count when settled
            if self.queue:
                await self.queue.release()
        self.summary.duration_s = time.monotonic() - clock
        if code == 0:
            code = self.summary.exit_code()
            status = "failed" if code else "ok"
        if self.signal_received is not None:
            status, code = "interrupted", EXIT_INTERRUPTED[signal.Signals(self.signal_received)]
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
        return code


def tune_gc() -> None:
    """Called once by the CLI before a run (not in library use, where the heap is not ours).

    Parsed documents hold no reference cycles: keep the start-up heap out of the collector's
    way and collect young objects every 50,000 allocations instead of 700 (-15% CPU per
    session, measured in bench/; see docs/benchmark.md)."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _first_leaf(error: BaseException) -> BaseException:
    """The first exception inside (possibly nested) exception groups."""
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


async def open_store(settings: Settings) -> Store:
    store = Store.open(settings.database_url)
    try:
        await ensure_schema(store)
    except BaseException:
        await store.close()
        raise
    return store


def open_client(settings: Settings, **overrides: Any) -> GatewayClient:
    limiter = RateLimiter(settings.rate)
    return GatewayClient(
        settings.require_gateway(),
        settings.token_value,
        limiter=limiter,
        timeout=settings.timeout,
        max_connections=settings.concurrency,
        **overrides,
    )


async def run_file(settings: Settings, ids: str, **client_overrides: Any) -> int:
    """`syncer run --ids FILE|-` (and `--shard K/N`): returns the exit code."""
    source = file_ids(ids)
    shard = settings.shard_spec
    return await run_ids(settings, only_shard(source, shard) if shard else source, **client_overrides)


async def run_queue(settings: Settings, **client_overrides: Any) -> int:
    """`syncer run --queue`: drain `sync_queue` (burst mode); returns the exit code."""
    client = open_client(settings, **client_overrides)
    async with client, await open_store(settings) as store:
        lease = QueueLease(
            Queue(store),
            lease=timedelta(seconds=settings.lease_seconds),
            max_attempts=settings.max_attempts,
            claim_size=max(settings.concurrency, min(settings.batch_size, 4 * settings.concurrency)),
        )
        run = Run(settings, store, client, queue=lease)
        return await run.execute(lease.ids(run.stop, settings.limit), "queue")


async def run_ids(settings: Settings, source: AsyncIterator[SourceId], **client_overrides: Any) -> int:
    """Sync the ids a source yields; returns the exit code."""
    client = open_client(settings, **client_overrides)
    async with client, await open_store(settings) as store:
        run = Run(settings, store, client)
        failed_out = settings.failed_out.open("w", encoding="utf-8") if settings.failed_out else None
        try:
            run.failed_out = failed_out
            return await run.execute(source, "file")
        finally:
            if failed_out:
                failed_out.close()
            with suppress(Exception):
                await source.aclose()  # type: ignore[attr-defined]
