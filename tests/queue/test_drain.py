"""Drain mode (`run --queue --until-empty`), in-process against the sandbox gateway over real
sockets and real PostgreSQL and SQLite: ids deferred during an outage are synced after it, the
run ends only when the queue is empty, at `--max-runtime`, or at `stop` while it sleeps."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import sqlalchemy as sa

from syncer.clock import now
from syncer.outcomes import Failure
from syncer.pipeline.start import run_queue
from syncer.sandbox import SandboxConfig, running_sandbox
from syncer.settings import load_settings
from syncer.sources.queue import DRAIN_WAIT_MAX_S, QueueSource
from syncer.warehouse.queue import Backlog, Queue
from syncer.warehouse.store import Store
from tests.faults.harness import assert_synced_exactly, read_tables, root

CONFIG = SandboxConfig(seed=11)
GOOD = [f"drain-{i:03d}" for i in range(5)]
DOWN = [f"unavailable-{i}" for i in range(3)]
"""Always 503 in the sandbox: deferred by every attempt."""


@pytest.fixture
async def gateway() -> AsyncIterator[str]:
    async with running_sandbox(CONFIG) as url:
        yield url


@pytest.fixture
async def queue(database_url: str) -> AsyncIterator[Queue]:
    store = Store.open(database_url)
    yield Queue(store)
    await store.close()


async def control(gateway: str, action: str, **params: Any) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        if action == "stats":
            response = await client.get(f"{root(gateway)}/_sandbox/stats")
        else:
            response = await client.post(f"{root(gateway)}/_sandbox/{action}", params=params)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def queue_rows(queue: Queue) -> dict[str, dict[str, Any]]:
    async with queue.store.engine.connect() as conn:
        result = await conn.execute(sa.text("SELECT * FROM sync_queue"))
        return {row.id: dict(row._mapping) for row in result}


def settings(gateway: str, database_url: str, tmp_path: Path, **options: Any) -> Any:
    return load_settings(
        gateway_url=gateway,
        database_url=database_url,
        rate=0,
        concurrency=8,
        progress=False,
        summary_out=tmp_path / "summary.json",
        **options,
    )


def finished(tmp_path: Path) -> dict[str, Any]:
    """The run's `run.finished` line, as `--summary-out` wrote it."""
    summary: dict[str, Any] = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    return summary


async def until(condition: Callable[[], bool]) -> None:
    """Poll `condition` (state with no event to wait on) until it holds."""
    for _ in itertools.count():
        if condition():
            return
        await anyio.sleep(0.02)


# -- the query and the source --------------------------------------------------------------


async def test_backlog_counts_pending_and_leased_and_finds_the_next_due(queue: Queue) -> None:
    t = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert await queue.backlog() == Backlog(0, 0, None)
    await queue.enqueue(["done", "failed", "leased", "later", "soon"], t)
    await queue.claim(5, "w1", timedelta(minutes=5), t)
    async with queue.store.engine.begin() as conn:
        await queue.fence("w1").complete(conn, ["done"], t)
    await queue.settle("w1", [Failure("failed", "http_400", "bad")], 5, t)
    transient = [Failure(i, "http_503", "down", 503, retryable=True) for i in ("later", "soon")]
    await queue.settle("w1", transient, 5, t)
    async with queue.store.engine.begin() as conn:  # deferred by different amounts
        for id, seconds in (("later", 600), ("soon", 60)):
            stmt = sa.text("UPDATE sync_queue SET available_at = :at WHERE id = :id")
            await conn.execute(stmt, {"at": t + timedelta(seconds=seconds), "id": id})
    backlog = await queue.backlog()
    assert backlog == Backlog(pending=2, leased=1, next_at=t + timedelta(seconds=60))
    assert backlog.left == 3


async def test_the_backoff_base_is_the_queues(database_url: str) -> None:
    async with Store.open(database_url) as store:
        queue = Queue(store, backoff_base_s=4.0)
        t = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        await queue.enqueue(["a"], t)
        await queue.claim(1, "w1", timedelta(minutes=5), t)
        assert await queue.settle("w1", [Failure("a", "http_503", "x", 503, retryable=True)], 5, t) == ["a"]
        available_at = (await queue_rows(queue))["a"]["available_at"]
    if isinstance(available_at, str):  # raw SQL on SQLite: the stored text
        available_at = datetime.fromisoformat(available_at).replace(tzinfo=UTC)
    assert t + timedelta(seconds=2) <= available_at <= t + timedelta(seconds=4)  # first try: 50-100%


async def test_a_drain_waits_for_another_workers_lease_to_expire(queue: Queue) -> None:
    """Nothing pending, one id leased by a worker that died: a burst run ends at once, a drain
    waits, reclaims the id when the lease expires, then ends with the queue empty."""
    await queue.enqueue(["x"], now())
    await queue.claim(1, "dead-worker", timedelta(seconds=1), now())
    burst = QueueSource(queue, timedelta(seconds=60), max_attempts=5, claim_size=10)
    assert [item.id async for item in burst.ids(anyio.Event())] == []

    drain = QueueSource(queue, timedelta(seconds=60), max_attempts=5, claim_size=10, until_empty=True)
    seen: list[str] = []
    with anyio.fail_after(30):
        async for item in drain.ids(anyio.Event()):
            seen.append(item.id)
            async with queue.store.engine.begin() as conn:
                await drain.fence.complete(conn, [item.id], now())
    assert seen == ["x"]
    assert (await queue_rows(queue))["x"]["status"] == "done"
    assert await drain.release() == 0


async def test_stop_wakes_a_drain_that_sleeps(queue: Queue) -> None:
    await queue.enqueue(["x"], now())
    await queue.claim(1, "w1", timedelta(minutes=5), now())
    await queue.settle("w1", [Failure("x", "http_503", "down", 503, retryable=True)], 5, now())
    async with queue.store.engine.begin() as conn:  # due long after the longest single wait
        await conn.execute(
            sa.text("UPDATE sync_queue SET available_at = :at"), {"at": now() + timedelta(hours=1)}
        )
    drain = QueueSource(queue, timedelta(seconds=60), max_attempts=5, claim_size=10, until_empty=True)
    stop = anyio.Event()
    seen: list[str] = []

    async def consume() -> None:
        async for item in drain.ids(stop):
            seen.append(item.id)

    started = time.monotonic()
    with anyio.fail_after(DRAIN_WAIT_MAX_S / 2):
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await until(lambda: drain._told is not None)  # it looked at the backlog, it sleeps
            stop.set()
    assert time.monotonic() - started < DRAIN_WAIT_MAX_S / 2
    assert seen == []
    assert await drain.release() == 1  # still pending, for a later run


# -- whole runs ----------------------------------------------------------------------------


@pytest.mark.slow
async def test_until_empty_drains_through_an_outage(gateway: str, queue: Queue, tmp_path: Path) -> None:
    """A 503 window: every id is deferred during it; the drain keeps waiting (it does not exit
    while ids are deferred), syncs them all after the gateway comes back, and only then exits 0."""
    ids = [f"outage-{i:03d}" for i in range(30)]
    await queue.enqueue(ids, now())
    await control(gateway, "outage", seconds=600)
    options = settings(
        gateway, queue.store.url, tmp_path, until_empty=True, queue_backoff_seconds=0.2, max_attempts=40
    )
    codes: list[int] = []

    async def run() -> None:
        codes.append(await run_queue(options))
        ended.set()

    ended = anyio.Event()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        with anyio.fail_after(120):  # until every id has been deferred by the outage at least once
            for _ in itertools.count():
                rows = (await queue_rows(queue)).values()
                if sum(row["last_error_kind"] == "http_503" for row in rows) == len(ids):
                    break
                await anyio.sleep(0.05)
        await anyio.sleep(0.5)  # a burst run would have ended by now: nothing is due
        assert codes == [], "the drain ended while ids were deferred"
        await control(gateway, "outage", seconds=0)
        with anyio.fail_after(180):
            await ended.wait()

    assert codes == [0]
    rows = await queue_rows(queue)
    assert {row["status"] for row in rows.values()} == {"done"}
    assert all(row["attempts"] >= 2 for row in rows.values())  # deferred, then synced
    tables = await read_tables(queue.store.url)
    assert set(tables.sessions) == set(ids)
    assert_synced_exactly(tables, ids, CONFIG)
    summary = finished(tmp_path)
    assert (summary["status"], summary["exit_code"], summary["pending_left"]) == ("ok", 0, 0)
    assert summary["deferred"] >= len(ids)
    assert summary["failed"] == 0
    assert summary["inserted"] == len(ids)
    assert [(r["status"], r["exit_code"], r["inserted"]) for r in tables.runs] == [("ok", 0, len(ids))]
    stats = await control(gateway, "stats")
    assert stats["failures_503"] >= len(ids)
    assert stats["ok"] >= len(ids)


async def test_without_until_empty_the_run_ends_when_nothing_is_due(
    gateway: str, queue: Queue, tmp_path: Path
) -> None:
    await queue.enqueue(GOOD + DOWN, now())
    with anyio.fail_after(60):
        code = await run_queue(settings(gateway, queue.store.url, tmp_path, max_attempts=10))
    assert code == 0  # deferred ids are not failures
    rows = await queue_rows(queue)
    assert {id: rows[id]["status"] for id in GOOD + DOWN} == dict.fromkeys(GOOD, "done") | dict.fromkeys(
        DOWN, "pending"
    )
    summary = finished(tmp_path)
    assert (summary["status"], summary["deferred"], summary["pending_left"]) == ("ok", len(DOWN), len(DOWN))
    assert_synced_exactly(await read_tables(queue.store.url), GOOD, CONFIG)


async def test_until_empty_stops_at_max_runtime_leaving_deferred_ids(
    gateway: str, queue: Queue, tmp_path: Path
) -> None:
    """Deferred 60-120 s away, longer than one wait (30 s): `--max-runtime` wakes the sleeping
    drain; the ids left pending are not failures (exit 0), and run.finished says how many are
    left. (3 s: time for the deferrals to settle, so that the drain sleeps its longest wait.)"""
    await queue.enqueue(GOOD + DOWN, now())
    options = settings(
        gateway,
        queue.store.url,
        tmp_path,
        until_empty=True,
        max_runtime=3.0,
        max_attempts=10,
        queue_backoff_seconds=120,
    )
    started = time.monotonic()
    with anyio.fail_after(120):
        code = await run_queue(options)
    assert time.monotonic() - started < DRAIN_WAIT_MAX_S - 5  # it did not sleep out its wait
    assert code == 0
    rows = await queue_rows(queue)
    assert [rows[id]["status"] for id in DOWN] == ["pending"] * len(DOWN)
    assert [rows[id]["attempts"] for id in DOWN] == [1] * len(DOWN)
    summary = finished(tmp_path)
    assert (summary["status"], summary["exit_code"], summary["pending_left"]) == ("ok", 0, len(DOWN))
    assert summary["failed"] == 0
    assert_synced_exactly(await read_tables(queue.store.url), GOOD, CONFIG)
