"""Database faults in the middle of a real `syncer run --queue` (a CLI subprocess) against the
sandbox gateway and the real PostgreSQL, through a TCP proxy the test controls: connections
cut, refused, black-holed; the role's privileges revoked; the worker SIGKILLed. Each case checks
the exit code, a short stderr without a traceback, the one `run.finished` line, the final
`sync_runs` row, the queue's leases, and that a rerun then converges to exactly the gateway's data.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa

from syncer.clock import now
from syncer.sandbox import SandboxConfig, running_sandbox_in_thread
from syncer.warehouse.queue import Queue
from syncer.warehouse.store import Store
from tests.e2e.cli import Result, syncer
from tests.faults.harness import assert_synced_exactly, read_tables
from tests.faults.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CONFIG = SandboxConfig(latency_ms=25)
IDS = [f"dbfault-{i:04d}" for i in range(200)]
FAST = ["--db-retry-seconds", "3", "--db-timeout", "3", "--shutdown-grace", "3"]


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    with running_sandbox_in_thread(CONFIG) as url:
        yield url


@pytest.fixture
def proxy(pg_url: str) -> Iterator[TcpProxy]:
    target = sa.engine.make_url(pg_url)
    with TcpProxy((target.host or "127.0.0.1", target.port or 5432)) as tcp:
        yield tcp


def via(url: str, proxy: TcpProxy) -> str:
    return (
        sa.engine.make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )


def pg(url: str, statement: str, *args: Any) -> Any:
    async def main() -> Any:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            return await conn.fetch(statement, *args)
        finally:
            await conn.close()

    return asyncio.run(main())


def enqueue(url: str) -> None:
    async def main() -> None:
        async with Store.open(url) as store:
            await Queue(store).enqueue(IDS, now())

    asyncio.run(main())


@dataclass
class Worker:
    proc: subprocess.Popen[str]
    stderr: Path

    def finish(self, timeout: float = 120) -> Result:
        self.proc.wait(timeout=timeout)
        return Result(self.proc.returncode, "", self.stderr.read_text(encoding="utf-8"))


def start(tmp_path: Path, gateway: str, database_url: str, *extra: str) -> Worker:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    err = tmp_path / f"stderr-{uuid.uuid4().hex[:6]}.txt"
    args = [sys.executable, "-m", "syncer", "run", "--queue", "--gateway-url", gateway]
    args += ["--database-url", database_url, "--rate", "0", "--concurrency", "2", "--batch-size", "10"]
    args += ["--log-format", "json", *FAST, *extra]
    with err.open("w", encoding="utf-8") as sink:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=sink, env=env, text=True)
    return Worker(proc, err)


def wait_for_sessions(url: str, at_least: int = 20, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pg(url, "SELECT count(*) FROM sessions")[0][0] >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError("the worker wrote nothing")


def assert_clean(result: Result, code: int) -> dict[str, Any]:
    """The exit code, a few lines of stderr, no traceback, one `run.finished` with that code."""
    assert result.code == code, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert len(result.stderr.splitlines()) <= 8, result.stderr
    summary = result.summary
    assert summary["exit_code"] == code
    return summary


def run_row(url: str, run_id: str) -> dict[str, Any]:
    rows = pg(url, "SELECT status, exit_code, heartbeat_at FROM sync_runs WHERE run_id = $1", run_id)
    assert len(rows) == 1
    return dict(rows[0])


def queue_counts(url: str) -> dict[str, int]:
    return {r["status"]: r["n"] for r in pg(url, "SELECT status, count(*) AS n FROM sync_queue GROUP BY 1")}


def converge(url: str, gateway: str) -> None:
    """A rerun straight to the database drains the queue, and the tables are the gateway's data."""
    rerun = syncer("run", "--queue", "--gateway-url", gateway, "--database-url", url, "--rate", "0")
    assert_clean(rerun, 0)
    assert queue_counts(url) == {"done": len(IDS)}
    tables = asyncio.run(read_tables(url))
    assert sorted(tables.sessions) == IDS
    assert_synced_exactly(tables, IDS, CONFIG)
    assert not [f for f in tables.failure_rows if f["kind"] == "write_error"]


def test_connections_cut_mid_run_are_retried_and_the_run_completes(
    tmp_path: Path, gateway: str, pg_url: str, proxy: TcpProxy
) -> None:
    enqueue(pg_url)
    worker = start(tmp_path, gateway, via(pg_url, proxy), "--db-retry-seconds", "30")
    wait_for_sessions(pg_url)
    opened = proxy.accepted
    reset = proxy.cut()
    time.sleep(0.3)
    reset += proxy.cut()
    summary = assert_clean(worker.finish(), 0)
    assert summary["status"] == "ok" and summary["failed"] == 0
    assert reset > 0  # the worker's live connections were cut mid-run...
    # ...and it carried on over new ones: through the run's retry (logged) or the pool's own
    # check of an idle connection before use (silent); which one is a matter of timing.
    assert proxy.accepted > opened
    assert run_row(pg_url, summary["run_id"])["status"] == "ok"
    assert queue_counts(pg_url) == {"done": len(IDS)}
    tables = asyncio.run(read_tables(pg_url))
    assert_synced_exactly(tables, IDS, CONFIG)
    assert summary["inserted"] + summary["unchanged"] + summary["lease_lost"] >= len(IDS) - 1


def test_a_database_gone_longer_than_the_retry_window_stops_the_run_with_exit_2(
    tmp_path: Path, gateway: str, pg_url: str, proxy: TcpProxy
) -> None:
    enqueue(pg_url)
    worker = start(tmp_path, gateway, via(pg_url, proxy), "--lease-seconds", "1")
    wait_for_sessions(pg_url)
    proxy.refuse()
    started = time.monotonic()
    result = worker.finish()
    assert time.monotonic() - started < 3 + 4 + 20  # the window, the run's end, a loaded machine
    summary = assert_clean(result, 2)
    assert summary["status"] == "failed"
    lost = [e for e in result.events if e["event"] == "run.database_lost"]
    assert len(lost) == 1 and f"127.0.0.1:{proxy.port}" in lost[0]["message"]
    # The database could not take the run's end: its row stays `running` and its leases held
    # until they expire; nothing half-written (every stored session is whole).
    assert run_row(pg_url, summary["run_id"])["status"] == "running"
    assert queue_counts(pg_url).get("leased", 0) > 0
    tables = asyncio.run(read_tables(pg_url))
    assert_synced_exactly(tables, sorted(tables.sessions), CONFIG)

    proxy.restore()
    time.sleep(1.5)  # its leases expire
    converge(pg_url, gateway)


def test_sigterm_is_honoured_while_the_database_is_a_black_hole(
    tmp_path: Path, gateway: str, pg_url: str, proxy: TcpProxy
) -> None:
    enqueue(pg_url)
    worker = start(tmp_path, gateway, via(pg_url, proxy), "--lease-seconds", "1")
    wait_for_sessions(pg_url)
    proxy.black_hole()
    time.sleep(0.5)
    worker.proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    result = worker.finish()
    assert time.monotonic() - sent < 3 + 4 + 10  # grace, the run's end, a loaded machine
    summary = assert_clean(result, 2)
    assert summary["status"] == "failed"
    assert run_row(pg_url, summary["run_id"])["status"] == "running"  # nothing could reach it

    proxy.restore()  # the worker's dead connections close, their transactions roll back
    time.sleep(1.5)
    converge(pg_url, gateway)


def test_revoked_privileges_are_one_run_level_error_not_a_failure_per_id(
    tmp_path: Path, gateway: str, pg_url: str
) -> None:
    role = f"syncer_fault_{uuid.uuid4().hex[:8]}"
    pg(pg_url, f'CREATE ROLE "{role}" LOGIN')
    try:
        pg(pg_url, f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')
        pg(pg_url, f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
        enqueue(pg_url)
        as_role = sa.engine.make_url(pg_url).set(username=role).render_as_string(hide_password=False)
        worker = start(tmp_path, gateway, as_role)
        wait_for_sessions(pg_url)
        pg(pg_url, f'REVOKE INSERT, UPDATE, DELETE ON sessions FROM "{role}"')
        result = worker.finish()
        summary = assert_clean(result, 2)
        assert "permission denied" in result.stderr
        assert summary["failed"] == 0
        assert pg(pg_url, "SELECT count(*) FROM sync_failures")[0][0] == 0
        row = run_row(pg_url, summary["run_id"])
        assert (row["status"], row["exit_code"]) == ("failed", 2)
        assert "leased" not in queue_counts(pg_url)  # every lease given back
        converge(pg_url, gateway)
    finally:
        pg(pg_url, f'DROP OWNED BY "{role}"')
        pg(pg_url, f'DROP ROLE "{role}"')


def test_a_killed_run_is_marked_abandoned_and_its_ids_synced_by_the_next(
    tmp_path: Path, gateway: str, pg_url: str
) -> None:
    enqueue(pg_url)
    worker = start(tmp_path, gateway, pg_url, "--lease-seconds", "1")
    wait_for_sessions(pg_url)
    worker.proc.send_signal(signal.SIGKILL)
    worker.finish()
    (dead,) = pg(pg_url, "SELECT run_id, status, heartbeat_at FROM sync_runs")
    assert dead["status"] == "running" and dead["heartbeat_at"] is not None
    status = syncer("queue", "status", "--json", "--database-url", pg_url)
    assert status.code == 0 and '"runs_marked_abandoned": 0' in status.stdout  # alive for all it knows
    # Eleven minutes later, by its heartbeat.
    pg(
        pg_url,
        "UPDATE sync_runs SET started_at = started_at - interval '11 minutes',"
        " heartbeat_at = heartbeat_at - interval '11 minutes'",
    )
    status = syncer("queue", "status", "--json", "--database-url", pg_url)
    assert status.code == 0 and '"runs_marked_abandoned": 1' in status.stdout
    assert run_row(pg_url, dead["run_id"])["status"] == "abandoned"
    time.sleep(1.5)  # its leases expire
    converge(pg_url, gateway)
    assert run_row(pg_url, dead["run_id"])["status"] == "abandoned"
