"""`run --processes N` and `--shard K/N`: the real CLI, the sandbox over sockets, PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from syncer.sandbox import SandboxConfig
from syncer.sandbox.server import running_sandbox_in_thread
from syncer.sources.file import shard_of
from tests.e2e.cli import Result, syncer
from tests.e2e.test_run_file import TOKEN, tables, write_ids

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def parent(result: Result) -> dict[str, Any]:
    """The parent's summary (each child logs its own `run.finished` too, with its shard)."""
    (summary,) = [e for e in result.events if e.get("event") == "run.finished" and "processes" in e]
    return summary


def run_args(ids_file: Path, url: str, pg_url: str, *extra: str) -> tuple[str, ...]:
    return ("run", "--ids", str(ids_file), "--gateway-url", url, "--database-url", pg_url, *extra)


def test_two_processes_sync_every_id_once_and_add_up_their_summaries(pg_url: str, tmp_path: Path) -> None:
    ids = [f"proc-{i:04d}" for i in range(600)]
    bad = ["missing-1", "fault-invalid_json-1"]  # not found, and a malformed body
    ids_file = write_ids(tmp_path / "ids.txt", [*ids, *bad, "PROC-0001"])  # a duplicate by case
    failed_out = tmp_path / "failed.txt"
    with running_sandbox_in_thread(SandboxConfig(token=TOKEN, latency_ms=2)) as url:
        args = run_args(ids_file, url, pg_url, "--concurrency", "16", "--rate", "0", "--processes", "2")
        first = syncer(*args, "--failed-out", str(failed_out), env={"SYNCER_TOKEN": TOKEN})
        assert first.code == 1, first.stderr[-3000:]  # the malformed document
        children = [e for e in first.events if e.get("event") == "run.finished" and "shard" in e]
        assert sorted(c["shard"] for c in children) == ["0/2", "1/2"]
        total = parent(first)
        assert total["processes"] == 2 and total["exit_code"] == 1
        assert total["requested"] == 602 == sum(c["requested"] for c in children)
        assert total["inserted"] == 600 and total["not_found"] == 1 and total["failed"] == 1
        assert sorted(total["run_ids"]) == sorted(c["run_id"] for c in children)
        # Each child took exactly its shard of the ids.
        for child in children:
            k = int(child["shard"].split("/")[0])
            assert child["requested"] == sum(1 for i in [*ids, *bad] if shard_of(i, 2) == k)
        assert failed_out.read_text().split() == ["fault-invalid_json-1"]
        assert not list(tmp_path.glob("failed.txt.part*"))

        after = tables(pg_url)
        assert sorted(row[0] for row in after["sessions"]) == ids
        assert {row[0] for row in after["charging_periods"]} == set(ids)  # every session with its periods

        again = syncer(*args, env={"SYNCER_TOKEN": TOKEN})
        assert parent(again)["unchanged"] == 600
        assert tables(pg_url)["sessions"] == after["sessions"]


def test_shards_of_one_file_on_separate_runs_cover_it_once(pg_url: str, tmp_path: Path) -> None:
    ids = [f"shard-{i:03d}" for i in range(300)]
    ids_file = write_ids(tmp_path / "ids.txt", ids)
    with running_sandbox_in_thread(SandboxConfig(token=TOKEN, latency_ms=1)) as url:
        counts = []
        for k in range(3):
            result = syncer(
                *run_args(ids_file, url, pg_url, "--rate", "0", "--shard", f"{k}/3"),
                env={"SYNCER_TOKEN": TOKEN},
            )
            assert result.code == 0, result.stderr[-2000:]
            counts.append(result.summary["inserted"])
    assert sum(counts) == 300 and all(60 < c < 140 for c in counts)
    assert sorted(row[0] for row in tables(pg_url)["sessions"]) == ids


def test_queue_workers_in_processes_drain_the_queue(pg_url: str, tmp_path: Path) -> None:
    ids = [f"pq-{i:04d}" for i in range(400)]
    ids_file = write_ids(tmp_path / "ids.txt", ids)
    assert syncer("enqueue", str(ids_file), "--database-url", pg_url).code == 0
    with running_sandbox_in_thread(SandboxConfig(token=TOKEN, latency_ms=2)) as url:
        result = syncer(
            "run", "--queue", "--gateway-url", url, "--database-url", pg_url, "--rate", "0", "--processes", "2",
            env={"SYNCER_TOKEN": TOKEN},
        )  # fmt: skip
    assert result.code == 0, result.stderr[-3000:]
    summary = parent(result)
    assert summary["inserted"] == 400 and summary["lease_lost"] == 0
    after = tables(pg_url)
    assert sorted(row[0] for row in after["sessions"]) == ids


def test_sigterm_reaches_every_process_and_they_drain(pg_url: str, tmp_path: Path) -> None:
    ids_file = write_ids(tmp_path / "ids.txt", [f"slow-{i:05d}" for i in range(20_000)])
    with running_sandbox_in_thread(SandboxConfig(token=TOKEN, latency_ms=50)) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
        env["SYNCER_TOKEN"] = TOKEN
        argv = [
            sys.executable,
            "-m",
            "syncer",
            *run_args(ids_file, url, pg_url, "--rate", "0", "--processes", "2"),
        ]
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(6)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr[-3000:]
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    finished = [e for e in events if e.get("event") == "run.finished"]
    assert {e.get("status") for e in finished} == {"interrupted"} and len(finished) == 3
    (summary,) = [e for e in finished if "processes" in e]
    written = len(tables(pg_url)["sessions"])
    assert 0 < written < 20_000
    assert summary["inserted"] == written  # what was counted was committed, and nothing else


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--processes", "0"), "--processes"),
        (("--shard", "2/2"), "--shard"),
        (("--shard", "x"), "--shard"),
        (("--processes", "2", "--shard", "0/2"), "--shard"),
    ],
)
def test_bad_process_options_exit_2_with_one_line(
    tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    ids_file = write_ids(tmp_path / "ids.txt", ["a"])
    result = syncer("run", "--ids", str(ids_file), "--gateway-url", "http://127.0.0.1:9", *extra)
    assert result.code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_stdin_cannot_be_split_between_processes() -> None:
    result = syncer(
        "run", "--ids", "-", "--gateway-url", "http://127.0.0.1:9", "--processes", "2", stdin="a\n"
    )
    assert result.code == 2 and "stdin" in result.stderr
