"""Measuring one benchmark step: wall time, CPU of the process tree, peak RSS, PostgreSQL's
share (backends of the step's database), the sandbox's CPU, WAL written, rows written.

- CPU of the step's programs: `RUSAGE_CHILDREN` before and after waiting for the subprocess,
  so every descendant it waited for is counted, however short-lived.
- Peak RSS: the subprocess tree sampled every 50 ms (sum of RSS over the tree), and the main
  process's own high-water mark (`VmHWM` from /proc, exact for a single process).
- PostgreSQL CPU: the backends connected to the step's database, sampled with psutil (last
  value seen per backend; a backend that lives less than 50 ms may be missed).
- WAL (a temporary replication slot keeps the step's WAL on the server until it is counted):
  `pg_current_wal_lsn()` before and after is cluster-wide (anything else writing to the
  same server at the same time is counted too), so where `pg_waldump` can read the server's
  pg_wal, the step's own share is also counted: every record of a transaction that touched a
  relation of the step's database (commit records included). `wal_bytes` is that share when
  available (`wal_source: "pg_waldump"`), else the cluster-wide difference.
- Rows written: `n_tup_ins + n_tup_upd + n_tup_del` over the database's tables, before and after.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg2

SAMPLE_S = 0.05


def pg_connect(admin_url: str, database: str | None = None) -> Any:
    url = admin_url if database is None else admin_url.rsplit("/", 1)[0] + "/" + database
    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def pg_value(admin_url: str, sql: str, database: str | None = None, params: Any = None) -> Any:
    conn = pg_connect(admin_url, database)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
            return row[0] if row else None
    finally:
        conn.close()


def recreate_database(admin_url: str, name: str) -> str:
    conn = pg_connect(admin_url)
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_url: str, name: str) -> None:
    conn = pg_connect(admin_url)
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


def tuples_written(admin_url: str, database: str) -> int:
    sql = "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_all_tables"
    sql += " WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
    return int(pg_value(admin_url, sql, database))


def wal_since(admin_url: str, lsn: str) -> int:
    return int(pg_value(admin_url, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", params=(lsn,)))


def wal_flush_lsn(admin_url: str) -> str:
    return str(pg_value(admin_url, "SELECT pg_current_wal_flush_lsn()"))


def _pg_waldump() -> str | None:
    found = shutil.which("pg_waldump")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_waldump"))
    return str(candidates[-1]) if candidates else None


def database_wal(admin_url: str, database: str, start: str, end: str) -> int | None:
    """WAL bytes between two LSNs written by transactions that touched `database`; None when
    pg_waldump or the server's pg_wal directory is out of reach (or the segments are recycled)."""
    tool = _pg_waldump()
    if tool is None:
        return None
    try:
        data_dir = pg_value(admin_url, "SHOW data_directory")
        oid = pg_value(admin_url, "SELECT oid FROM pg_database WHERE datname = %s", params=(database,))
    except psycopg2.Error:
        return None
    if start == end:
        return 0
    for _ in range(3):
        proc = subprocess.run(
            [tool, "-p", str(Path(data_dir) / "pg_wal"), "-s", start, "-e", end],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode == 0:
            break
        LAST_WALDUMP_ERROR[0] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
        time.sleep(1.0)  # the last page may not be on disk yet
    else:
        return None
    marker = f"/{oid}/"
    sizes: dict[str, int] = {}
    ours: set[str] = set()
    for line in proc.stdout.splitlines():
        match = _RECORD.match(line)
        if not match:
            continue
        total, xid = int(match.group(1)), match.group(2)
        sizes[xid] = sizes.get(xid, 0) + total
        if marker in line and xid != "0":
            ours.add(xid)
    return sum(sizes[xid] for xid in ours)


LAST_WALDUMP_ERROR = [""]
_RECORD = re.compile(r"rmgr: \S+\s+len \(rec/tot\):\s*\d+/\s*(\d+), tx:\s*(\d+),")


def _hold_wal(admin_url: str) -> Any:
    """A temporary replication slot, so the server keeps the step's WAL for pg_waldump even
    when a checkpoint comes in between (dropped with its connection); None if not allowed."""
    conn = pg_connect(admin_url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_create_physical_replication_slot(%s, true, true)", (f"bench_{os.getpid()}",)
            )
    except psycopg2.Error:
        conn.close()
        return None
    return conn


def _cpu(times: Any) -> float:
    return float(times.user + times.system)


def _hwm_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class Measurement:
    name: str
    sessions: int
    wall_s: float = 0.0
    cpu_s: float = 0.0
    """CPU seconds of the step's own processes (the program and everything it started)."""
    peak_rss_mb: float = 0.0
    """Peak of the summed RSS of the step's process tree."""
    peak_rss_main_mb: float = 0.0
    """High-water RSS of the step's main process alone."""
    pg_cpu_s: float = 0.0
    sandbox_cpu_s: float = 0.0
    wal_bytes: int = 0
    wal_cluster_bytes: int = 0
    wal_source: str = "cluster"
    rows_written: int = 0
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def sessions_per_s(self) -> float:
        return self.sessions / self.wall_s if self.wall_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["sessions_per_s"] = round(self.sessions_per_s, 1)
        out["rows_per_s"] = round(self.rows_written / self.wall_s, 1) if self.wall_s else 0.0
        out["wal_mb"] = round(self.wal_bytes / 2**20, 3)
        return out


class _Sampler(threading.Thread):
    def __init__(self, pid: int, admin_url: str, database: str | None) -> None:
        super().__init__(daemon=True)
        self.pid, self.admin_url, self.database = pid, admin_url, database
        self.stop = threading.Event()
        self.peak_tree = 0
        self.peak_main = 0
        self.backend_cpu: dict[int, float] = {}
        self.backend_base: dict[int, float] = {}

    def run(self) -> None:
        conn = pg_connect(self.admin_url) if self.database else None
        try:
            root = psutil.Process(self.pid)
            while not self.stop.is_set():
                self._sample(root, conn)
                self.stop.wait(SAMPLE_S)
            self._sample(root, conn)
        except psutil.NoSuchProcess:
            pass
        finally:
            if conn is not None:
                conn.close()

    def _sample(self, root: psutil.Process, conn: Any) -> None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        rss = 0
        for proc in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                rss += proc.memory_info().rss
        self.peak_tree = max(self.peak_tree, rss)
        self.peak_main = max(self.peak_main, _hwm_bytes(root.pid))
        if conn is not None:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.database,),
                )
                pids = [row[0] for row in cur.fetchall()]
            for pid in pids:
                with contextlib.suppress(psutil.NoSuchProcess):
                    self.backend_cpu[pid] = _cpu(psutil.Process(pid).cpu_times())


def measure(
    name: str,
    sessions: int,
    argv: list[str],
    *,
    admin_url: str,
    database: str | None,
    sandbox_pid: int | None,
    env: dict[str, str] | None = None,
) -> Measurement:
    """Run `argv` to completion and measure it; its last stdout line is read as JSON (if any)."""
    m = Measurement(name, sessions)
    sandbox = psutil.Process(sandbox_pid) if sandbox_pid else None
    sandbox_before = _cpu(sandbox.cpu_times()) if sandbox else 0.0
    slot = _hold_wal(admin_url) if database else None
    lsn = wal_flush_lsn(admin_url)
    rows_before = tuples_written(admin_url, database) if database else 0
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    sampler = _Sampler(proc.pid, admin_url, database)
    sampler.start()
    stdout, stderr = proc.communicate()
    m.wall_s = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    m.cpu_s = (children_after.ru_utime - children_before.ru_utime) + (
        children_after.ru_stime - children_before.ru_stime
    )
    m.peak_rss_mb = sampler.peak_tree / 2**20
    m.peak_rss_main_mb = sampler.peak_main / 2**20
    m.pg_cpu_s = sum(sampler.backend_cpu.values())
    if sandbox:
        m.sandbox_cpu_s = _cpu(sandbox.cpu_times()) - sandbox_before
    time.sleep(0.5)  # exited backends have flushed their table statistics by now
    m.wal_cluster_bytes = m.wal_bytes = wal_since(admin_url, lsn)
    if database:
        own = database_wal(admin_url, database, lsn, wal_flush_lsn(admin_url))
        if slot is not None:
            slot.close()  # drops the temporary slot
        if own is not None:
            m.wal_bytes, m.wal_source = own, "pg_waldump"
        else:
            m.wal_source = f"cluster (pg_waldump: {LAST_WALDUMP_ERROR[0][:200]})"
    else:
        m.wal_bytes, m.wal_source = 0, "no database"
    if database:
        m.rows_written = tuples_written(admin_url, database) - rows_before
    if proc.returncode not in (0,):
        raise RuntimeError(f"{name}: exit {proc.returncode}\n{stderr[-3000:]}")
    m.result = _last_json(stdout) or _last_json(stderr, event="run.finished") or {}
    return m


def _last_json(text: str, event: str | None = None) -> dict[str, Any] | None:
    for raw in reversed(text.strip().splitlines()):
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and (event is None or value.get("event") == event):
            return value
    return None
