"""Stopping a run, for both sources: SIGTERM/SIGINT (also as PID 1), --limit, --max-runtime,
and --failed-out replay."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.cli import syncer
from tests.queue.test_queue_workers import (
    enqueue,
    finish,
    queue_counts,
    sandbox,
    scalar,
    sessions_without_periods,
    summary_of,
    wait_for,
    worker,
)


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_file_run_stops_cleanly_on_a_signal(sqlite_url: str, tmp_path: Path, signum: int, code: int) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(f"sig-{i:04d}" for i in range(1000)) + "\n")
    with sandbox(latency_ms=100) as url:
        proc = worker(
            url,
            sqlite_url,
            "--concurrency",
            "4",
            "--batch-size",
            "10",
            "--shutdown-grace",
            "5",
            source=("--ids", str(ids)),
        )
        wait_for(lambda: (scalar(sqlite_url, "SELECT count(*) FROM sessions") or 0) >= 10)
        started = time.monotonic()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == code
    assert time.monotonic() - started < 7
    summary = summary_of(err)
    assert summary["status"] == "interrupted"
    assert 10 <= summary["inserted"] < 1000
    assert scalar(sqlite_url, "SELECT count(*) FROM sessions") == summary["inserted"]
    assert sessions_without_periods(sqlite_url) == 0


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_queue_worker_as_pid_1_drains_on_sigterm(pg_url: str) -> None:
    enqueue(pg_url, [f"pid1-{i:04d}" for i in range(400)])
    with sandbox(latency_ms=100) as url:
        # as a container's entrypoint: PID 1 gets no default signal handling from the kernel
        proc = worker(
            url,
            pg_url,
            "--concurrency",
            "4",
            "--batch-size",
            "10",
            "--shutdown-grace",
            "5",
            wrapper=("unshare", "--fork", "--pid", "--mount-proc"),
        )
        wait_for(lambda: queue_counts(pg_url).get("done", 0) >= 10)
        # unshare forwards nothing: signal the namespace's PID 1 (the syncer) directly
        child = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=True)
        pid1 = int(child.stdout.split()[0])
        subprocess.run(["kill", "-TERM", str(pid1)], check=True)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err[-2000:]
    assert summary_of(err)["status"] == "interrupted"
    counts = queue_counts(pg_url)
    assert "leased" not in counts
    assert counts["done"] + counts["pending"] == 400


@pytest.mark.slow
@pytest.mark.postgres
def test_limit_and_max_runtime_end_a_queue_run_early(pg_url: str) -> None:
    enqueue(pg_url, [f"lim-{i:04d}" for i in range(200)])
    with sandbox(latency_ms=50) as url:
        code, limited = finish(worker(url, pg_url, "--limit", "30", "--concurrency", "8"))
        assert code == 0
        assert limited["requested"] == 30
        assert queue_counts(pg_url) == {"done": 30, "pending": 170}
        code, timed = finish(worker(url, pg_url, "--max-runtime", "1", "--concurrency", "2"))
    assert code == 0
    assert 0 < timed["inserted"] < 170
    counts = queue_counts(pg_url)
    assert "leased" not in counts
    assert counts["done"] == 30 + timed["inserted"]


def test_failed_out_lists_failed_ids_and_replays_with_ids(sqlite_url: str, tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("ok-1\nunavailable-7\nok-2\nmissing-3\n")
    failed = tmp_path / "failed.txt"
    with sandbox() as url:
        first = syncer(
            "run",
            "--ids",
            str(ids),
            "--gateway-url",
            url,
            "--database-url",
            sqlite_url,
            "--failed-out",
            str(failed),
            "--max-attempts",
            "2",
        )
        assert first.code == 1
        assert failed.read_text() == "unavailable-7\n"  # not the 404: it would never succeed
        again = syncer(
            "run",
            "--ids",
            str(failed),
            "--gateway-url",
            url,
            "--database-url",
            sqlite_url,
            "--max-attempts",
            "1",
        )
    assert again.summary["requested"] == 1
    assert again.summary["failed"] == 1
    assert scalar(sqlite_url, "SELECT count(*) FROM sync_failures WHERE id = 'unavailable-7'") == 2


@pytest.mark.slow
def test_queue_commands_from_the_cli(sqlite_url: str, tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("a\nb\nbad/id\nc\n")
    queued = syncer("enqueue", str(ids), "--database-url", sqlite_url)
    assert queued.code == 1  # the invalid id is reported, the valid ones are queued
    status = syncer("queue", "status", "--json", "--database-url", sqlite_url)
    assert status.code == 0
    assert '"pending": 3' in status.stdout
    with sandbox() as url:
        code, summary = finish(worker(url, sqlite_url))
    assert (code, summary["inserted"]) == (0, 3)
    pruned = syncer("queue", "prune", "--older-than", "0s", "--database-url", sqlite_url)
    assert pruned.stdout.strip() == "deleted 3 done ids"
    bad = syncer("queue", "prune", "--older-than", "soon", "--database-url", sqlite_url)
    assert bad.code == 2
    assert bad.stderr.count("\n") == 1
