"""Queue workers as real processes against the sandbox gateway and real PostgreSQL:
parallel pods, SIGKILL, a paused worker, SIGTERM, transient failures."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from syncer.sandbox import SandboxConfig
from syncer.sandbox.server import running_sandbox_in_thread
from syncer.warehouse.queue import Queue
from syncer.warehouse.store import Store
from tests.e2e.cli import syncer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def enqueue(url: str, ids: list[str]) -> None:
    async def go() -> None:
        async with Store.open(url) as store:
            await Queue(store).enqueue(ids, datetime.now(UTC))

    asyncio.run(go())


def scalar(url: str, sql: str) -> Any:
    async def go() -> Any:
        async with Store.open(url) as store, store.engine.connect() as conn:
            return await conn.scalar(sa.text(sql))

    return asyncio.run(go())


def execute(url: str, sql: str) -> None:
    async def go() -> None:
        async with Store.open(url) as store, store.engine.begin() as conn:
            await conn.execute(sa.text(sql))

    asyncio.run(go())


def queue_counts(url: str) -> dict[str, int]:
    async def go() -> dict[str, int]:
        async with Store.open(url) as store, store.engine.connect() as conn:
            rows = await conn.execute(sa.text("SELECT status, count(*) FROM sync_queue GROUP BY status"))
            return {r[0]: r[1] for r in rows}

    return asyncio.run(go())


def sessions_without_periods(url: str) -> int:
    return int(
        scalar(
            url,
            """
        SELECT count(*) FROM sessions s
        WHERE NOT EXISTS (SELECT 1 FROM charging_periods p WHERE p.session_id = s.id)
           OR NOT EXISTS (SELECT 1 FROM raw_sessions r WHERE r.id = s.id)""",
        )
    )


def stats(base_url: str) -> dict[str, Any]:
    root = base_url.rsplit("/api/v1", 1)[0]
    return dict(httpx.get(f"{root}/_sandbox/stats").json())


def worker(
    gateway: str, db: str, *extra: str, source: tuple[str, ...] = ("--queue",), wrapper: tuple[str, ...] = ()
) -> subprocess.Popen[str]:
    """A `syncer run` process (the queue by default), optionally under a wrapper like unshare."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    args = [
        *wrapper,
        sys.executable,
        "-m",
        "syncer",
        "run",
        *source,
        "--gateway-url",
        gateway,
        "--database-url",
        db,
        "--rate",
        "0",
        "--log-format",
        "json",
        *extra,
    ]
    return subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)


def summary_of(stderr: str) -> dict[str, Any]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    finished = [e for e in lines if e.get("event") == "run.finished"]
    assert len(finished) == 1, stderr[-3000:]
    return finished[0]


def finish(proc: subprocess.Popen[str], timeout: float = 240) -> tuple[int, dict[str, Any]]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, summary_of(err)


def wait_for(condition: Any, timeout: float = 60, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(every)


@contextmanager
def sandbox(**config: Any) -> Iterator[str]:
    with running_sandbox_in_thread(SandboxConfig(**config)) as url:
        yield url


def test_four_workers_drain_twenty_thousand_ids_exactly_once(pg_url: str, tmp_path: Path) -> None:
    ids = [f"par-{i:05d}" for i in range(20_000)]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    with sandbox() as url:
        queued = syncer("enqueue", str(ids_file), "--database-url", pg_url, "--log-format", "json")
        assert queued.code == 0, queued.stderr[-2000:]
        procs = [worker(url, pg_url, "--concurrency", "16", "--batch-size", "250") for _ in range(4)]
        results = [finish(p, timeout=400) for p in procs]
        served = stats(url)
    assert [code for code, _ in results] == [0, 0, 0, 0]
    summaries = [s for _, s in results]
    inserted = [s["inserted"] for s in summaries]
    failures = scalar(pg_url, "SELECT string_agg(kind || ': ' || message, ' | ') FROM sync_failures")
    assert sum(inserted) == 20_000, (failures, summaries)
    # no id was handled by two workers: the second would have counted it unchanged or lost its lease
    assert sum(s["unchanged"] + s["updated"] + s["lease_lost"] + s["deferred"] for s in summaries) == 0
    assert sum(1 for n in inserted if n > 0) >= 2  # the work really was shared
    assert served["requests"] == 20_000 + sum(s["retries"] for s in summaries)  # one fetch per id
    assert queue_counts(pg_url) == {"done": 20_000}
    assert scalar(pg_url, "SELECT count(*) FROM sessions") == 20_000
    assert sessions_without_periods(pg_url) == 0


def test_a_killed_worker_s_ids_are_finished_by_the_next_after_its_lease(pg_url: str) -> None:
    enqueue(pg_url, [f"kill-{i:04d}" for i in range(300)])
    with sandbox(latency_ms=150) as url:
        victim = worker(url, pg_url, "--concurrency", "8", "--batch-size", "8", "--lease-seconds", "2")
        wait_for(lambda: queue_counts(pg_url).get("done", 0) >= 16)
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=10)  # reap it and close its pipe
        after_kill = queue_counts(pg_url)
        assert after_kill.get("leased", 0) > 0  # it died holding leases
        assert sessions_without_periods(pg_url) == 0  # and left nothing half-written
        time.sleep(2.2)  # its leases expire
        code, summary = finish(worker(url, pg_url, "--concurrency", "16"))
    assert code == 0
    assert queue_counts(pg_url) == {"done": 300}
    assert scalar(pg_url, "SELECT count(*) FROM sessions") == 300
    assert sessions_without_periods(pg_url) == 0
    assert summary["inserted"] == 300 - after_kill["done"]


def test_a_paused_worker_cannot_commit_after_its_ids_were_reclaimed(pg_url: str) -> None:
    enqueue(pg_url, [f"pause-{i:03d}" for i in range(60)])
    with sandbox(latency_ms=300) as url:
        # batch-size 1000: it commits only after its 1 s batch wait, so it is caught holding documents
        slow = worker(url, pg_url, "--concurrency", "60", "--batch-size", "1000", "--lease-seconds", "1.5")
        wait_for(lambda: stats(url)["requests"] >= 60, every=0.01)
        slow.send_signal(signal.SIGSTOP)  # a GC pause, a frozen VM: no heartbeat either
        try:
            time.sleep(2.0)
            code, fast = finish(worker(url, pg_url, "--concurrency", "60"))
            assert code == 0
            assert fast["inserted"] == 60
            synced = scalar(pg_url, "SELECT max(synced_at) FROM sessions")
        finally:
            slow.send_signal(signal.SIGCONT)
        slow_code, paused = finish(slow)
    assert slow_code == 0
    assert paused["inserted"] == paused["updated"] == paused["unchanged"] == 0
    assert paused["lease_lost"] == 60
    assert scalar(pg_url, "SELECT max(synced_at) FROM sessions") == synced  # nothing written after
    assert queue_counts(pg_url) == {"done": 60}


def test_sigterm_drains_within_the_grace_and_releases_every_lease(pg_url: str) -> None:
    enqueue(pg_url, [f"term-{i:04d}" for i in range(400)])
    with sandbox(latency_ms=100) as url:
        proc = worker(url, pg_url, "--concurrency", "8", "--batch-size", "20", "--shutdown-grace", "5")
        wait_for(lambda: queue_counts(pg_url).get("done", 0) >= 20)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code, summary = finish(proc, timeout=30)
        elapsed = time.monotonic() - started
        assert code == 143
        assert summary["status"] == "interrupted"
        assert elapsed < 5 + 2
        counts = queue_counts(pg_url)
        assert "leased" not in counts
        assert counts["done"] + counts["pending"] == 400
        assert sessions_without_periods(pg_url) == 0
        code, rest = finish(worker(url, pg_url, "--concurrency", "16"))
    assert code == 0
    assert rest["inserted"] == counts["pending"]
    assert queue_counts(pg_url) == {"done": 400}


def test_transient_failures_back_off_then_fail_after_max_attempts(pg_url: str) -> None:
    good = [f"ok-{i:03d}" for i in range(50)]
    flaky = [f"unavailable-{i}" for i in range(5)]  # the sandbox always answers 503 for these
    enqueue(pg_url, good + flaky)
    with sandbox() as url:
        code, first = finish(worker(url, pg_url, "--max-attempts", "2"))
        assert code == 0  # deferred is not failed
        assert (first["inserted"], first["deferred"], first["failed"]) == (50, 5, 0)
        assert queue_counts(pg_url) == {"done": 50, "pending": 5}
        assert scalar(
            pg_url, "SELECT min(available_at) FROM sync_queue WHERE status = 'pending'"
        ) > datetime.now(UTC)
        # nothing is due: a run now claims nothing
        code, idle = finish(worker(url, pg_url, "--max-attempts", "2"))
        assert (code, idle["requested"]) == (0, 0)
        execute(pg_url, "UPDATE sync_queue SET available_at = now() WHERE status = 'pending'")
        code, second = finish(worker(url, pg_url, "--max-attempts", "2"))
    assert code == 1, second
    assert second["failed"] == 5
    assert queue_counts(pg_url) == {"done": 50, "failed": 5}
    kinds = scalar(
        pg_url, "SELECT string_agg(DISTINCT last_error_kind, ',') FROM sync_queue WHERE status = 'failed'"
    )
    assert kinds == "http_503"
