"""Watching a run from outside, as on-call would: the real CLI in a subprocess, piped, against
the sandbox over real sockets, into real PostgreSQL, with a small Pushgateway of our own.

While it runs: `run.started`, `run.progress` lines with rising counts, a `sync_runs` row that
is `running` with non-zero counts and a fresh heartbeat. When it ends: `run.finished`, no ANSI
codes anywhere, and the last Pushgateway payload counts exactly what the row says.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from syncer.sandbox import SandboxConfig
from syncer.sandbox.server import running_sandbox_in_thread
from syncer.warehouse.store import Store
from syncer.warehouse.tables import RUNS
from tests.e2e.cli import Result, clean_env, syncer
from tests.e2e.test_run_file import write_ids

TOKEN = "observe-token-never-shown"


class Pushgateway:
    """Records every push (method, path, body) and answers 200, as a Pushgateway does."""

    def __init__(self) -> None:
        self.pushes: list[tuple[str, str, str]] = []
        pushes = self.pushes

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                pushes.append((self.command, self.path, self.rfile.read(size).decode()))
                self.send_response(200)
                self.end_headers()

            do_PUT = do_POST = _record

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def pushgateway() -> Iterator[Pushgateway]:
    gateway = Pushgateway()
    thread = threading.Thread(target=gateway.server.serve_forever, daemon=True)
    thread.start()
    yield gateway
    gateway.server.shutdown()
    gateway.server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _runs(url: str) -> list[dict[str, Any]]:
    async with Store.open(url) as store, store.engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(sa.select(RUNS))]


def _samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


@pytest.mark.postgres
@pytest.mark.slow
def test_a_piped_run_reports_progress_heartbeats_and_pushes_its_metrics(
    pg_url: str, tmp_path: Path, pushgateway: Pushgateway
) -> None:
    ids = [f"obs-{i:04d}" for i in range(110)] + [f"missing-{i}" for i in range(10)]
    ids_file = write_ids(tmp_path / "ids.txt", ids)
    with running_sandbox_in_thread(SandboxConfig(token=TOKEN)) as url:
        args = ["run", "--ids", str(ids_file), "--database-url", pg_url, "--concurrency", "4"]
        args += ["--rate", "40", "--batch-size", "10", "--progress-interval", "0.4"]
        port = free_port()
        args += ["--pushgateway-url", pushgateway.url, "--gateway-url", url, "--metrics-port", str(port)]
        env = clean_env() | {"SYNCER_TOKEN": TOKEN}
        proc = subprocess.Popen(  # the --rate makes it last ~3 s, longer on a loaded machine
            [sys.executable, "-m", "syncer", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        seen_live, scraped = None, None
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            rows = asyncio.run(_runs(pg_url))
            if rows and rows[0]["status"] == "running" and rows[0]["inserted"] > 0:
                seen_live = rows[0]
                scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
                break
            time.sleep(0.1)
        stdout, stderr = proc.communicate(timeout=120)
    result = Result(proc.returncode, stdout, stderr)
    assert result.code == 0, stderr[-3000:]

    # While it ran: the row had counts and a fresh heartbeat, who ran it and against what.
    assert seen_live is not None, "never saw the running row with counts"
    assert seen_live["fetched"] > 0 and seen_live["requested"] > 0
    assert seen_live["heartbeat_at"] > seen_live["started_at"]
    assert datetime.now(UTC) - seen_live["heartbeat_at"] < timedelta(seconds=60)
    assert seen_live["syncer_version"] == "0.1.0"
    assert seen_live["gateway_url"] == url
    assert scraped is not None  # --metrics-port served the live metrics
    live = _samples(scraped)
    assert live[("syncer_run_status", (("status", "running"),))] == 1
    assert live[("syncer_requests_total", (("status", "200"),))] >= seen_live["fetched"] > 0

    # The log: started, progress rising, finished once; no secret, no ANSI code.
    events = result.events
    names = [e["event"] for e in events]
    assert names[0] == "run.started" and names.count("run.finished") == 1
    started = events[0]
    assert started["total"] == 122 and started["settings"]["gateway_url"] == url
    assert started["settings"]["progress_interval"] == 0.4 and started["settings"]["token_set"] is True
    progress = [e for e in events if e["event"] == "run.progress"]
    assert len(progress) >= 2, names
    done = [p["done"] for p in progress]
    assert done == sorted(done) and done[-1] > done[0], done
    assert all(p["total"] == 122 and "sessions_per_s" in p and "retries" in p for p in progress)
    assert "\x1b[" not in stderr and TOKEN not in stderr

    # The row at the end, and the Pushgateway's last payload counts exactly the same.
    final = asyncio.run(_runs(pg_url))[0]
    assert final["status"] == "ok" and final["inserted"] == 110 and final["not_found"] == 10
    assert len(pushgateway.pushes) >= 2
    method, path, body = pushgateway.pushes[-1]
    assert (method, path) == ("PUT", "/metrics/job/syncer/instance/file")
    samples = _samples(body)
    for outcome in ("inserted", "updated", "unchanged", "stale", "not_found", "failed"):
        assert samples[("syncer_sessions_total", (("outcome", outcome),))] == final[outcome]
    assert samples[("syncer_requests_total", (("status", "200"),))] == final["fetched"] == 110
    assert samples[("syncer_requests_total", (("status", "404"),))] == 10
    assert samples[("syncer_request_duration_seconds_count", ())] == 120
    assert samples[("syncer_retries_total", ())] == final["retries"]
    assert samples[("syncer_run_status", (("status", "ok"),))] == 1
    assert samples[("syncer_run_status", (("status", "running"),))] == 0
    assert abs(samples[("syncer_last_success_timestamp_seconds", ())] - time.time()) < 120
    assert samples[("syncer_run_duration_seconds", ())] > 0


def test_enqueue_reports_progress_while_it_reads(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'q.db'}"
    args = ["enqueue", "-", "--database-url", database, "--progress-interval", "0.2"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncer", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    assert proc.stdin is not None
    proc.stdin.write("".join(f"q-{i:05d}\n" for i in range(2500)))
    proc.stdin.flush()
    time.sleep(2)  # a slow producer: progress lines come meanwhile, ten intervals' worth
    proc.stdin.write("q-last\n")
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    events = [e for e in Result(0, "", stderr).events if e["event"] == "run.progress"]
    assert events and all(e["command"] == "enqueue" for e in events)
    assert max(e["added"] for e in events) >= 1000  # a batch in while the rest was still coming
    finished = [e for e in Result(0, "", stderr).events if e["event"] == "enqueue.finished"]
    assert finished[0]["added"] == 2501


def test_an_unreachable_pushgateway_never_fails_the_run(tmp_path: Path) -> None:
    ids_file = write_ids(tmp_path / "ids.txt", [f"pg-{i}" for i in range(5)])
    closed = free_port()  # nothing listens there
    with running_sandbox_in_thread(SandboxConfig()) as url:
        result = syncer(
            "run",
            "--ids",
            str(ids_file),
            "--gateway-url",
            url,
            "--database-url",
            f"sqlite:///{tmp_path / 's.db'}",
            "--pushgateway-url",
            f"http://user:pushpass@127.0.0.1:{closed}",
        )
    assert result.code == 0, result.stderr[-2000:]
    assert result.summary["inserted"] == 5
    failed = [e for e in result.events if e["event"] == "metrics.push_failed"]
    assert failed and failed[-1]["url"] == f"http://127.0.0.1:{closed}"
    assert "pushpass" not in result.stderr


@pytest.mark.slow
def test_a_queue_run_reports_its_lag(tmp_path: Path, pushgateway: Pushgateway) -> None:
    database = f"sqlite:///{tmp_path / 'q.db'}"
    queued = syncer(
        "enqueue", "-", "--database-url", database, stdin="".join(f"lag-{i}\n" for i in range(60))
    )
    assert queued.code == 0, queued.stderr
    with running_sandbox_in_thread(SandboxConfig()) as url:
        result = syncer(
            *("run", "--queue", "--gateway-url", url, "--database-url", database, "--rate", "30"),
            *("--concurrency", "2", "--batch-size", "5", "--progress-interval", "0.3"),
            *("--pushgateway-url", pushgateway.url),
        )
    assert result.code == 0, result.stderr[-2000:]
    assert result.summary["inserted"] == 60
    progress = [e for e in result.events if e["event"] == "run.progress"]
    assert len(progress) >= 2
    due = [p["queue_due"] for p in progress]
    assert due == sorted(due, reverse=True) and due[0] > 0, due  # draining
    assert all(p["queue_deferred"] == 0 and "queue_lag_s" in p for p in progress)
    _, path, body = pushgateway.pushes[-1]
    assert path == "/metrics/job/syncer/instance/queue"
    samples = _samples(body)
    assert samples[("syncer_queue_due", ())] == 0  # refreshed at the end: all done
    assert samples[("syncer_queue_oldest_due_age_seconds", ())] == 0
    assert samples[("syncer_sessions_total", (("outcome", "inserted"),))] == 60
