"""`syncer enqueue`: the ids of a file into `sync_queue`, a batch at a time."""

from __future__ import annotations

import time

import anyio

from syncer.clock import now
from syncer.observe.heartbeat import every
from syncer.observe.logs import Redactor, get_logger
from syncer.pipeline.start import open_store
from syncer.settings import Settings
from syncer.sources.file import file_ids
from syncer.warehouse.queue import EnqueueCounts, Queue

_ENQUEUE_BATCH = 1_000


async def enqueue(settings: Settings, spec: str) -> int:
    log = get_logger("syncer.queue")
    total = EnqueueCounts(0, 0, 0)
    invalid = 0
    redactor = Redactor([settings.token_value or ""])  # an id holding the token is never stored
    started = time.monotonic()

    def report() -> None:
        elapsed = time.monotonic() - started
        done = total.added + total.requeued + total.already_queued
        log.info(
            "run.progress",
            command="enqueue",
            done=done,
            ids_per_s=round(done / elapsed, 1) if elapsed > 0 else 0.0,
            added=total.added,
            requeued=total.requeued,
            already_queued=total.already_queued,
            invalid=invalid,
            elapsed_s=round(elapsed, 1),
        )

    async with await open_store(settings) as store, anyio.create_task_group() as tg:
        tg.start_soon(every, settings.progress_interval, report)
        queue = Queue(store)
        batch: list[str] = []

        async def flush() -> None:
            nonlocal total
            total += await queue.enqueue(batch, now())
            batch.clear()

        async for item in file_ids(spec):
            if not item.valid or redactor.text(item.id) != item.id:
                invalid += 1
                log.warning("enqueue.invalid_id", line=item.line, id=item.id[:80])
                continue
            batch.append(item.id)
            if len(batch) >= _ENQUEUE_BATCH:
                await flush()
        if batch:
            await flush()
        tg.cancel_scope.cancel()
    log.info(
        "enqueue.finished",
        added=total.added,
        requeued=total.requeued,
        already_queued=total.already_queued,
        invalid=invalid,
    )
    return 1 if invalid else 0
