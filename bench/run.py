"""The benchmark, in one run, side by side on the same ids and the same sandbox gateway:

    fetch-only ceiling     raw aiohttp at the same concurrency, no parsing, no database
    syncer first load      `python -m syncer run --ids …` into PostgreSQL (the real CLI)
    baseline first load    the same with another checkout's code (`--baseline DIR`), in turn with it
    syncer unchanged       the same again: nothing is newer (and the baseline's)
    syncer, N processes    `run --ids … --processes N`: first load and unchanged rerun
    syncer, --queue        `enqueue`, then `run --queue --processes N`
    db-only ceiling        the syncer's COPY-merge of documents fetched and parsed beforehand
    dlt merge              dlt's parallelized transformer + merge into PostgreSQL
    syncer 10% changed     after POST /_sandbox/bump?share=0.1
    memory runs            the syncer alone over --memory-ids (default 10,000 and 100,000)

Usage: python -m bench.run [--ids 20000] [--concurrency 64] [--memory-ids 10000,100000]
       [--skip-dlt] [--skip-memory] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
       [--baseline DIR]   (DIR: a checkout of the code to compare with, e.g.
                           `git worktree add /tmp/baseline <commit>`; it runs on this venv)

Writes bench/results/latest.json and prints a table. See docs/benchmark.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench.common import TOKEN, write_ids
from bench.fetch_only import fetch_all
from bench.probes import Measurement, drop_database, measure, recreate_database

RESULTS = Path(__file__).parent / "results"
PY = sys.executable


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", type=int, default=20_000, help="ids in the side-by-side comparison")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight, for every contender")
    parser.add_argument("--batch-size", type=int, default=None, help="syncer --batch-size (default: its own)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="sandbox latency per request")
    parser.add_argument("--memory-ids", default="10000,100000", help="id counts of the memory runs")
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="also `run --processes N` (first load, unchanged rerun) and `run --queue --processes N`;"
        " 0 or 1 skips them",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="a checkout of other code (e.g. the previous main) to run side by side: first load and"
        " unchanged rerun, each right after this code's",
    )
    parser.add_argument("--skip-dlt", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--keep-databases", action="store_true", help="do not drop the bench databases")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="an admin connection; the bench creates and drops its own bench_* databases",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    return parser.parse_args(argv)


# -- the sandbox --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def sandbox(*options: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`syncer simulate` with these options in its own process (it competes for the same two
    cores, and its CPU is reported per step); yields its gateway URL and the process."""
    port = _free_port()
    argv = [PY, "-m", "syncer", "simulate", "--port", str(port), *options]
    proc = subprocess.Popen(
        argv,
        env={**os.environ, "SYNCER_SIMULATE_TOKEN": TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{root}/healthz", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.1)
        yield f"{root}/api/v1", proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def bump(gateway: str, share: float) -> None:
    root = gateway.split("/api/", maxsplit=1)[0]
    request = urllib.request.Request(f"{root}/_sandbox/bump?share={share}", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


# -- the steps ----------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, gateway: str, sandbox_pid: int, work: Path) -> None:
        self.args, self.gateway, self.sandbox_pid, self.work = args, gateway, sandbox_pid, work
        self.databases: list[str] = []

    def database(self, name: str, **env: str) -> str:
        self.databases.append(name)
        url = recreate_database(self.args.pg_url, name)
        subprocess.run(
            [PY, "-m", "syncer", "migrate", "--database-url", url],
            check=True,
            capture_output=True,
            env={**os.environ, **env},
        )
        return url

    def step(
        self, name: str, sessions: int, argv: list[str], database: str | None, **env: str
    ) -> Measurement:
        print(f"  {name} …", end="", flush=True)
        m = measure(
            name,
            sessions,
            argv,
            admin_url=self.args.pg_url,
            database=database,
            sandbox_pid=self.sandbox_pid,
            env=env,
        )
        print(f" {m.sessions_per_s:,.0f} sessions/s, {m.wall_s:.1f} s, peak RSS {m.peak_rss_mb:.0f} MB")
        return m

    def syncer(
        self,
        name: str,
        source: list[str],
        n: int,
        url: str,
        database: str,
        *,
        processes: int = 1,
        **env: str,
    ) -> Measurement:
        """The real CLI: `python -m syncer run …` (with `--processes N` when N > 1)."""
        argv = [PY, "-m", "syncer", "run", *source, "--gateway-url", self.gateway]
        argv += ["--database-url", url, "--concurrency", str(self.args.concurrency), "--rate", "0"]
        argv += ["--log-format", "json", "--no-progress"]
        if processes > 1:
            argv += ["--processes", str(processes)]
        if self.args.batch_size:
            argv += ["--batch-size", str(self.args.batch_size)]
        m = self.step(name, n, argv, database, SYNCER_TOKEN=TOKEN, **env)
        if m.result.get("failed") or m.result.get("requested") != n:
            raise RuntimeError(f"{name}: {m.result}")
        return m

    def queue_workers(self, ids_file: Path, n: int) -> Measurement:
        """Enqueue, then `run --queue --processes N` drains it (the documented deployment for
        big backfills, N processes on one machine)."""
        url = self.database("bench_queue")
        enqueue = [PY, "-m", "syncer", "enqueue", str(ids_file), "--database-url", url]
        subprocess.run(enqueue, check=True, capture_output=True)
        workers = self.args.processes
        return self.syncer(
            f"syncer first, --queue, {workers} procs", ["--queue"], n, url, "bench_queue", processes=workers
        )


def first_and_unchanged(bench: Bench, source: list[str], n: int, url: str) -> dict[str, Any]:
    """First load and unchanged rerun; with `--baseline`, the other code's each right after this
    code's (it runs from its own source tree: PYTHONPATH is searched before the editable install)."""
    baseline = bench.args.baseline
    base_env = {"PYTHONPATH": str(baseline.resolve())} if baseline else {}
    base_url = bench.database("bench_baseline", **base_env) if baseline else ""
    steps: dict[str, Any] = {}
    for kind, label in (("first", "first load"), ("unchanged", "unchanged rerun")):
        steps[f"syncer_{kind}"] = bench.syncer(f"syncer {label}", source, n, url, "bench_syncer").as_dict()
        if baseline:
            steps[f"baseline_{kind}"] = bench.syncer(
                f"baseline {label}", source, n, base_url, "bench_baseline", **base_env
            ).as_dict()
    return steps


def run(args: argparse.Namespace) -> dict[str, Any]:
    n, c = args.ids, args.concurrency
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {
            "ids": n,
            "concurrency": c,
            "batch_size": args.batch_size,
            "latency_ms": args.latency_ms,
            "processes": args.processes,
        },
        "steps": {},
    }
    steps: dict[str, Any] = results["steps"]
    with (
        tempfile.TemporaryDirectory(prefix="syncer-bench-") as tmp,
        sandbox("--latency-ms", str(args.latency_ms)) as (gateway, sb),
    ):
        work = Path(tmp)
        bench = Bench(args, gateway, sb.pid, work)
        ids_file = write_ids(work / "ids.txt", "bench", n)
        try:
            print(f"sandbox at {gateway}; warming its cache with {n:,} documents …", flush=True)
            started = time.perf_counter()
            asyncio.run(fetch_all(gateway, ids_file.read_text().split(), c))
            results["warm_up_s"] = round(time.perf_counter() - started, 1)

            fetch = bench.step(
                "fetch-only ceiling", n, [PY, "-m", "bench.fetch_only", gateway, str(ids_file), str(c)], None
            )
            steps["fetch_only"] = fetch.as_dict()

            url = bench.database("bench_syncer")
            source = ["--ids", str(ids_file)]
            steps.update(first_and_unchanged(bench, source, n, url))

            if args.processes > 1:
                p = args.processes
                p_url = bench.database("bench_processes")
                steps["processes_first"] = bench.syncer(
                    f"syncer first, {p} processes", source, n, p_url, "bench_processes", processes=p
                ).as_dict()
                steps["processes_unchanged"] = bench.syncer(
                    f"syncer unchanged, {p} procs", source, n, p_url, "bench_processes", processes=p
                ).as_dict()
                steps["queue_first"] = bench.queue_workers(ids_file, n).as_dict()

            db_url = bench.database("bench_db_only")
            batch = str(args.batch_size or 200)
            db_only = bench.step(
                "db-only ceiling",
                n,
                [PY, "-m", "bench.db_only", gateway, str(ids_file), str(c), db_url, batch],
                "bench_db_only",
            )
            steps["db_only"] = _db_only(db_only)

            if not args.skip_dlt:
                dlt_url = recreate_database(args.pg_url, "bench_dlt")
                bench.databases.append("bench_dlt")
                argv = [
                    PY,
                    "-m",
                    "bench.dlt_merge",
                    gateway,
                    str(ids_file),
                    str(c),
                    dlt_url,
                    str(work / "dlt"),
                ]
                steps["dlt"] = bench.step("dlt merge", n, argv, "bench_dlt").as_dict()

            bump(gateway, 0.1)
            steps["syncer_changed"] = bench.syncer(
                "syncer 10% changed", source, n, url, "bench_syncer"
            ).as_dict()

            if not args.skip_memory:
                results["memory"] = {}
                for count in (int(x) for x in args.memory_ids.split(",") if x):
                    mem_ids = write_ids(work / f"mem-{count}.txt", f"mem{count}", count)
                    mem_url = bench.database(f"bench_mem_{count}")
                    m = bench.syncer(
                        f"memory run, {count:,} ids",
                        ["--ids", str(mem_ids)],
                        count,
                        mem_url,
                        f"bench_mem_{count}",
                    )
                    results["memory"][str(count)] = m.as_dict()
                    if not args.keep_databases:
                        drop_database(args.pg_url, f"bench_mem_{count}")
        finally:
            if not args.keep_databases:
                for name in bench.databases:
                    drop_database(args.pg_url, name)
    results["ratios"] = ratios(results)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return results


def _db_only(m: Measurement) -> dict[str, Any]:
    """The db-only step times its writes itself (fetching and parsing are left out)."""
    out = m.as_dict()
    first, again = m.result["first"], m.result["unchanged"]
    out["sessions_per_s"] = round(first["sessions_per_s"], 1)
    out["unchanged_sessions_per_s"] = round(again["sessions_per_s"], 1)
    print(f"    (its writes alone: {out['sessions_per_s']:,.0f} sessions/s; the step also fetches, parses)")
    out["write_s"] = round(first["write_s"], 2)
    out["write_cpu_s"] = round(first["write_cpu_s"], 2)
    return out


def ratios(results: dict[str, Any]) -> dict[str, float | None]:
    steps = results["steps"]

    def rate(name: str) -> float | None:
        return steps[name]["sessions_per_s"] if name in steps else None

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a and b else None

    first, unchanged, changed = rate("syncer_first"), rate("syncer_unchanged"), rate("syncer_changed")
    processes, queue = rate("processes_first"), rate("queue_first")
    out: dict[str, float | None] = {
        "first_vs_dlt": ratio(first, rate("dlt")),
        "first_vs_fetch_ceiling": ratio(first, rate("fetch_only")),
        "first_vs_db_ceiling": ratio(first, rate("db_only")),
        "processes_first_vs_dlt": ratio(processes, rate("dlt")),
        "processes_first_vs_fetch_ceiling": ratio(processes, rate("fetch_only")),
        "processes_first_vs_db_ceiling": ratio(processes, rate("db_only")),
        "queue_processes_first_vs_dlt": ratio(queue, rate("dlt")),
        "queue_processes_first_vs_fetch_ceiling": ratio(queue, rate("fetch_only")),
        "unchanged_vs_first": ratio(unchanged, first),
        "processes_unchanged_vs_first": ratio(rate("processes_unchanged"), processes),
        "changed_vs_first": ratio(changed, first),
        "unchanged_vs_dlt": ratio(unchanged, rate("dlt")),
        "first_vs_baseline": ratio(first, rate("baseline_first")),
        "unchanged_vs_baseline": ratio(unchanged, rate("baseline_unchanged")),
    }
    memory = results.get("memory") or {}
    if len(memory) >= 2:
        sizes = sorted(memory, key=int)
        out["memory_peak_largest_vs_smallest"] = ratio(
            memory[sizes[-1]]["peak_rss_main_mb"], memory[sizes[0]]["peak_rss_main_mb"]
        )
    return out


# -- the report ---------------------------------------------------------------------------------

COLUMNS = (
    ("step", "{}", 30),
    ("sessions/s", "{:,.0f}", 10),
    ("wall s", "{:.1f}", 7),
    ("CPU s", "{:.1f}", 6),
    ("sandbox CPU s", "{:.1f}", 13),
    ("PG CPU s", "{:.1f}", 8),
    ("peak RSS MB", "{:.0f}", 11),
    ("rows/s", "{:,.0f}", 9),
    ("WAL MB", "{}", 8),
)


def table(results: dict[str, Any]) -> str:
    p = results["settings"].get("processes")
    rows = [("syncer_first", "syncer first load"), ("syncer_unchanged", "syncer unchanged rerun")]
    rows += [("syncer_changed", "syncer 10% changed")]
    rows += [
        ("processes_first", f"syncer first, {p} processes"),
        ("processes_unchanged", f"syncer unchanged, {p} procs"),
    ]
    rows += [("queue_first", f"syncer first, --queue, {p} procs")]
    rows += [("fetch_only", "fetch-only ceiling")]
    rows += [("db_only", "db-only ceiling (writes)"), ("dlt", "dlt merge")]
    lines = [
        "  ".join(
            f"{title:>{width}}" if i else f"{title:<{width}}" for i, (title, _, width) in enumerate(COLUMNS)
        )
    ]
    entries = [(label, results["steps"][key]) for key, label in rows if key in results["steps"]]
    entries += [(f"memory, {int(k):,} ids", v) for k, v in (results.get("memory") or {}).items()]
    for label, s in entries:
        values = (label, s["sessions_per_s"], s["wall_s"], s["cpu_s"], s["sandbox_cpu_s"], s["pg_cpu_s"])
        wal = f"{s['wal_mb']:.1f}" + ("*" if s.get("wal_source", "").startswith("cluster") else "")
        values += (max(s["peak_rss_mb"], s["peak_rss_main_mb"]), s["rows_per_s"], wal)
        cells = [fmt.format(v) for v, (_, fmt, _) in zip(values, COLUMNS, strict=True)]
        lines.append(
            "  ".join(
                f"{cell:>{w}}" if i else f"{cell:<{w}}"
                for i, (cell, (_, _, w)) in enumerate(zip(cells, COLUMNS, strict=True))
            )
        )
    lines.append("WAL: the step's own database (pg_waldump); * = cluster-wide, others' writes included")
    lines.append("")
    for name, value in results["ratios"].items():
        lines.append(f"{name:>40}: {'-' if value is None else f'{value:.2f}x'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(
        f"syncer benchmark: {args.ids:,} ids, concurrency {args.concurrency}, {os.cpu_count()} CPUs",
        flush=True,
    )
    results = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))
    print(f"\nresults: {args.out}")


if __name__ == "__main__":
    main()
