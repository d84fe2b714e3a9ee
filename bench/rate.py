"""Goodput under gateway faults and the fleet budget, side by side in one run (docs/benchmark.md):

    flaky 503          --rate 20 against a sandbox answering 20% of requests 503 + Retry-After: 1
    unknown limit      --rate 150 against a sandbox limited to 50 requests/s (429 beyond)
    fleet 1, 2, 4      1, 2 and 4 `run --queue` processes under --global-rate 100, against a
                       sandbox limited to 105/s: the total rate the gateway sees and its 429s;
                       then 2 of the 4 are killed with SIGKILL, and the time until the other 2
                       have taken up the budget is measured (at the gateway, 1 s windows)

Every rate is counted at the sandbox from its request log (`/_sandbox/requests`, monotonic times
shared with this process); sessions/s is the run's own summary.

Usage: python -m bench.rate [--only flaky,limit,fleet] [--fleet-seconds 20]
       [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

Writes bench/results/rate.json and prints a table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import TOKEN, write_ids
from bench.probes import drop_database, recreate_database
from bench.run import sandbox as run_sandbox

RESULTS = Path(__file__).parent / "results"
PY = sys.executable
GLOBAL_RATE = 100.0
FLEET_LIMIT = 105.0
CONVERGED_S = 15.0
"""The unknown-limit step also counts what the gateway accepted after this many seconds."""
SETTLE_S = 4.0
"""Seconds after the first request before a fleet phase is measured (the others start too)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.rate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="flaky,limit,fleet", help="steps to run, comma-separated")
    parser.add_argument("--flaky-ids", type=int, default=800)
    parser.add_argument("--limit-ids", type=int, default=3000)
    parser.add_argument(
        "--limit-burst",
        type=float,
        default=10.0,
        help="the limited gateway's bucket: requests it lets through at once (0 = a tenth of a second's)",
    )
    parser.add_argument("--fleet-seconds", type=float, default=15.0, help="seconds measured per phase")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="sandbox latency per request")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="an admin connection; the fleet step creates and drops bench_fleet",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "rate.json")
    return parser.parse_args(argv)


@contextlib.contextmanager
def sandbox(*options: str) -> Iterator[str]:
    """`syncer simulate` with these options in its own process; yields the gateway URL."""
    with run_sandbox(*options) as (gateway, _process):
        yield gateway


def requests_log(gateway: str) -> list[dict[str, Any]]:
    root = gateway.split("/api/", maxsplit=1)[0]
    with urllib.request.urlopen(f"{root}/_sandbox/requests", timeout=30) as response:
        records: list[dict[str, Any]] = json.loads(response.read())["requests"]
    return records


def rate_between(log: list[dict[str, Any]], start: float, end: float) -> float:
    return sum(1 for r in log if start <= r["at"] < end) / (end - start)


def per_second(log: list[dict[str, Any]], start: float, end: float) -> list[int]:
    """Requests the gateway saw in each whole second from `start`."""
    return [sum(1 for r in log if start + k <= r["at"] < start + k + 1) for k in range(int(end - start))]


def run_cli(gateway: str, database_url: str, *options: str, ids: Path | None = None) -> dict[str, Any]:
    """`python -m syncer run …` to the end; its summary."""
    with tempfile.TemporaryDirectory() as work:
        summary = Path(work) / "summary.json"
        argv = [PY, "-m", "syncer", "run", "--gateway-url", gateway, "--database-url", database_url]
        argv += ["--log-format", "json", "--no-progress", *options]
        if ids is not None:
            argv += ["--ids", str(ids)]
        env = {**os.environ, "SYNCER_TOKEN": TOKEN, "SYNCER_SUMMARY_OUT": str(summary)}
        started = time.monotonic()
        done = subprocess.run(argv, check=False, env=env, capture_output=True)
        if not summary.exists():
            raise RuntimeError(f"the run left no summary: {done.stderr.decode()[-2000:]}")
        result: dict[str, Any] = json.loads(summary.read_text())
        result["wall_s"] = round(time.monotonic() - started, 1)
        result["returncode"] = done.returncode
    return result


def flaky(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    ids = write_ids(work / "flaky.txt", "flaky", args.flaky_ids)
    options = ["--failure-rate", "0.2", "--failure-retry-after", "1", "--latency-ms", str(args.latency_ms)]
    with sandbox(*options) as gateway:
        db = f"sqlite:///{work}/flaky.db"
        summary = run_cli(gateway, db, "--rate", "20", ids=ids)
        log = requests_log(gateway)
    return {
        "step": "20% 503 (Retry-After: 1), --rate 20",
        "ids": args.flaky_ids,
        "sessions_per_s": summary["sessions_per_s"],
        "failed": summary["failed"],
        "requests": len(log),
        "http_503": sum(1 for r in log if r["status"] == 503),
        "duration_s": summary["duration_s"],
    }


def limit(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    ids = write_ids(work / "limit.txt", "limit", args.limit_ids)
    options = ["--rate-limit", "50", "--rate-limit-burst", str(args.limit_burst)]
    with sandbox(*options, "--latency-ms", str(args.latency_ms)) as gateway:
        db = f"sqlite:///{work}/limit.db"
        summary = run_cli(gateway, db, "--rate", "150", "--concurrency", "32", ids=ids)
        log = requests_log(gateway)
    refused = sum(1 for r in log if r["status"] == 429)
    first, last = log[0]["at"], log[-1]["at"]
    accepted_after = [r for r in log if r["status"] == 200 and first + CONVERGED_S <= r["at"] < last - 1]
    return {
        "step": f"--rate 150, gateway limited to 50/s (burst {args.limit_burst:g})",
        "ids": args.limit_ids,
        "sessions_per_s": summary["sessions_per_s"],
        "failed": summary["failed"],
        "requests": len(log),
        "http_429": refused,
        "share_429_pct": round(100 * refused / len(log), 2),
        "accepted_per_s_after_convergence": round(len(accepted_after) / (last - 1 - first - CONVERGED_S), 1),
        "http_429_after_convergence": sum(r["status"] == 429 for r in log if r["at"] >= first + CONVERGED_S),
        "duration_s": summary["duration_s"],
    }


def start_worker(gateway: str, url: str) -> subprocess.Popen[bytes]:
    argv = [PY, "-m", "syncer", "run", "--queue", "--gateway-url", gateway, "--database-url", url]
    argv += ["--global-rate", str(GLOBAL_RATE), "--rate", "0", "--concurrency", "16"]
    argv += ["--log-format", "json", "--no-progress"]
    env = {**os.environ, "SYNCER_TOKEN": TOKEN}
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for proc in workers:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in workers:
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


def fleet_phase(args: argparse.Namespace, url: str, n: int, kill: int = 0) -> dict[str, Any]:
    """n workers: once they run (the first request, then SETTLE_S), `--fleet-seconds` measured;
    then, if `kill`, SIGKILL that many and watch the others take up the budget."""
    seconds = args.fleet_seconds
    options = ["--rate-limit", str(FLEET_LIMIT), "--latency-ms", str(args.latency_ms)]
    with sandbox(*options) as gateway:
        workers = [start_worker(gateway, url) for _ in range(n)]
        try:
            deadline = time.monotonic() + 60
            while not requests_log(gateway) and time.monotonic() < deadline:
                time.sleep(0.2)
            steady_from = time.monotonic() + SETTLE_S
            time.sleep(SETTLE_S + seconds)
            steady_to = time.monotonic()
            killed_at = None
            if kill:
                for proc in workers[:kill]:
                    proc.send_signal(signal.SIGKILL)
                killed_at = time.monotonic()
                time.sleep(seconds)
        finally:
            stop(workers)
        log = requests_log(gateway)
    result: dict[str, Any] = {
        "step": f"{n} queue workers, --global-rate {GLOBAL_RATE:g}, gateway limited to {FLEET_LIMIT:g}/s",
        "workers": n,
        "gateway_rate": round(rate_between(log, steady_from, steady_to), 1),
        "window_s": round(steady_to - steady_from, 1),
        "http_429": sum(1 for r in log if r["status"] == 429),
        "requests": len(log),
        "per_second": per_second(log, steady_from, killed_at + seconds if killed_at else steady_to),
    }
    if killed_at is not None:
        # 1 s windows after the kill: when does the total come back to 95% of the budget?
        back = None
        for k in range(int(seconds * 10)):
            start = killed_at + k / 10
            if rate_between(log, start, start + 1.0) >= 0.95 * GLOBAL_RATE:
                back = round(start + 1.0 - killed_at, 1)
                break
        after = killed_at + 8.0
        result.update(
            killed=kill,
            recovered_after_s=back,
            rate_after_kill=round(rate_between(log, after, killed_at + seconds - 0.5), 1),
        )
    return result


def fleet(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    url = recreate_database(args.pg_url, "bench_fleet")
    env = {**os.environ}
    subprocess.run([PY, "-m", "syncer", "migrate", "--database-url", url], check=True, env=env)
    ids = write_ids(work / "fleet.txt", "fleet", int(GLOBAL_RATE * args.fleet_seconds * 6))
    subprocess.run([PY, "-m", "syncer", "enqueue", str(ids), "--database-url", url], check=True, env=env)
    try:
        return [fleet_phase(args, url, 1), fleet_phase(args, url, 2), fleet_phase(args, url, 4, kill=2)]
    finally:
        drop_database(args.pg_url, "bench_fleet")


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    only = set(args.only.split(","))
    results: dict[str, Any] = {"machine": machine(), "steps": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "flaky" in only:
            results["steps"].append(flaky(args, work))
            print(json.dumps(results["steps"][-1]), flush=True)
        if "limit" in only:
            results["steps"].append(limit(args, work))
            print(json.dumps(results["steps"][-1]), flush=True)
        if "fleet" in only:
            for phase in fleet(args, work):
                results["steps"].append(phase)
                print(json.dumps(phase), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
