"""The composition root: opens the warehouse and the gateway client, picks a source, runs it.

run_file(settings, "ids.txt")   `syncer run --ids FILE|-` (and `--shard K/N`)
run_queue(settings)             `syncer run --queue`
run_source(settings, source)    any `Source` (the demo's, tests')
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from syncer.gateway.client import GatewayClient
from syncer.gateway.ratelimit import RateLimiter
from syncer.observe.metrics import Metrics
from syncer.observe.progress import line_count
from syncer.pipeline.fleet import Fleet, InFleet, fair_share
from syncer.pipeline.run import Run
from syncer.settings import Settings
from syncer.sources.base import Source, SourceId
from syncer.sources.file import FileSource
from syncer.sources.queue import QueueSource
from syncer.warehouse import sqlite_check
from syncer.warehouse.migrate import ensure_schema
from syncer.warehouse.queue import Queue
from syncer.warehouse.store import Store
from syncer.warehouse.workers import Workers


def tune_gc() -> None:
    """Called once by the CLI before a run (not in library use, where the heap is not ours).

    Parsed documents hold no reference cycles: keep the start-up heap out of the collector's
    way and collect young objects every 50,000 allocations instead of 700 (less CPU per
    session: docs/benchmark.md)."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


async def open_store(settings: Settings) -> Store:
    store = Store.open(settings.database_url, settings.db_schema, statement_timeout=settings.db_timeout)
    try:
        await sqlite_check.check(store)
        await ensure_schema(store)
    except BaseException:
        await store.close()
        raise
    return store


def open_client(settings: Settings, **overrides: Any) -> GatewayClient:
    # This process alone: --rate, or min(--rate, --global-rate); a fleet sets its share later.
    limiter = RateLimiter(
        fair_share(settings.global_rate, 1, settings.rate), max_pause=settings.max_retry_after
    )
    overrides.setdefault("metrics", Metrics())
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
    total = line_count(ids) if ids != "-" and not settings.shard else None
    if total is not None and settings.limit:
        total = min(total, settings.limit)
    return await run_source(
        settings, FileSource.open(ids, settings.shard_spec), total=total, **client_overrides
    )


async def run_ids(settings: Settings, ids: AsyncIterator[SourceId], **client_overrides: Any) -> int:
    """The ids an iterator yields, as a file's: returns the exit code."""
    return await run_source(settings, FileSource(ids), **client_overrides)


async def run_queue(settings: Settings, **client_overrides: Any) -> int:
    """`syncer run --queue`: drain `sync_queue` (burst mode, or until empty with `--until-empty`);
    returns the exit code."""

    def source(store: Store) -> Source:
        return QueueSource(
            Queue(store, backoff_base_s=settings.queue_backoff_seconds),
            lease=timedelta(seconds=settings.lease_seconds),
            max_attempts=settings.max_attempts,
            claim_size=max(settings.concurrency, min(settings.batch_size, 4 * settings.concurrency)),
            limit=settings.limit,
            until_empty=settings.until_empty,
        )

    return await run_source(settings, source, **client_overrides)


async def run_source(
    settings: Settings, source: Source | Any, *, total: int | None = None, **client_overrides: Any
) -> int:
    """Sync what `source` yields (a `Source`, or a function of the store that makes one);
    returns the exit code. `total`: how many ids to expect, when known (the progress bar)."""
    client = open_client(settings, **client_overrides)
    async with client, await open_store(settings) as store:
        chosen: Source = source(store) if callable(source) else source
        run_id = uuid.uuid4().hex
        if settings.global_rate is not None and store.dialect == "postgresql":
            workers = Workers(store, run_id=run_id)
            fleet = Fleet(client.limiter, settings.global_rate, settings.rate, workers)
            await fleet.join()
            chosen = InFleet(chosen, fleet)
        run = Run(settings, store, client, chosen, run_id=run_id, total=total)
        failed_out = settings.failed_out.open("w", encoding="utf-8") if settings.failed_out else None
        try:
            run.failed_out = failed_out
            return await run.execute()
        finally:
            if failed_out:
                failed_out.close()
