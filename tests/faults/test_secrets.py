"""The gateway token never leaves the process: not on stdout or stderr (logs, errors,
tracebacks), not in --failed-out, not in any row of sync_failures or sync_runs, not anywhere in
the database file. The real CLI, in a subprocess, through good runs, failing ids, refused
credentials and runs that cannot even start."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from syncer.sandbox import SandboxConfig
from syncer.sandbox.server import running_sandbox_in_thread
from tests.e2e.cli import Result, syncer
from tests.faults.harness import id_file, read_tables

TOKEN = "tok-Zq81-s3cr3t-e5b0c9d2a4f7"
WRONG = "tok-Wx42-wr0ng-91f0aa3b7c6e"  # refused by the gateway: must not leak either
SECRETS = (TOKEN, WRONG)
FAILING = [
    "unavailable-1",
    "fault-invalid_json-1",
    "fault-truncated-1",
    "fault-status_9999-1",
    "fault-http_418-1",
]
IDS = [*(f"sec-{i:02d}" for i in range(10)), "missing-1", *FAILING, "../etc/passwd", "a b"]


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
            assert secret[4:20] not in text  # not even a piece of it


def error_lines(result: Result) -> list[dict[str, object]]:
    return [e for e in result.events if e.get("level") == "error"]


@pytest.fixture(scope="module")
def gateway() -> object:
    with running_sandbox_in_thread(SandboxConfig(token=TOKEN, seed=3)) as url:
        yield url


@pytest.mark.slow
def test_token_never_leaves_the_process(gateway: str, sqlite_url: str, tmp_path: Path) -> None:
    ids = id_file(tmp_path / "ids.txt", IDS)
    failed_out = tmp_path / "failed.txt"
    common = ["run", "--ids", str(ids), "--gateway-url", gateway, "--database-url", sqlite_url]
    common += ["--max-attempts", "2", "--failed-out", str(failed_out), "--rate", "0"]
    outputs: list[str] = []

    by_env = syncer(*common, env={"SYNCER_TOKEN": TOKEN})
    assert by_env.code == 1, by_env.stderr[-2000:]  # some ids truly failed
    assert by_env.summary["inserted"] == 10
    assert set(failed_out.read_text().split()) == set(FAILING)
    outputs += [by_env.stdout, by_env.stderr, failed_out.read_text()]

    by_option = syncer(*common, "--token", TOKEN, "--log-format", "console")
    assert by_option.code == 1, by_option.stderr[-2000:]
    assert "unchanged=10" in by_option.stderr
    outputs += [by_option.stdout, by_option.stderr, failed_out.read_text()]

    refused = syncer(*common, "--token", WRONG)
    assert refused.code == 3
    assert [e["event"] for e in error_lines(refused)] == ["run.credentials_rejected"]
    assert "Traceback" not in refused.stderr
    outputs += [refused.stdout, refused.stderr, failed_out.read_text()]

    tables = asyncio.run(read_tables(sqlite_url))
    assert len(tables.runs) == 3
    assert {row["kind"] for row in tables.failure_rows} >= {
        "invalid_id",
        "http_503",
        "invalid_json",
        "truncated",
    }
    rows = [*tables.runs, *tables.failure_rows]
    outputs += [json.dumps(rows, default=str)]

    database_file = Path(sqlite_url.removeprefix("sqlite:///"))
    for path in database_file.parent.glob(database_file.name + "*"):  # with -wal and -shm
        outputs.append(path.read_bytes().decode("latin-1"))
    assert_no_secret(*outputs)


@pytest.mark.parametrize(
    ("database_url", "token"),
    [
        ("postgresql://syncer:{token}@127.0.0.1:1/none", TOKEN),  # unreachable, token as password
        # Refused before aiosqlite opens anything (its worker thread could print an "Event loop
        # is closed" traceback after the error line: aiosqlite 0.22.1, omnilib/aiosqlite#241).
        ("sqlite:////nonexistent-dir/sub/syncer.db", TOKEN),
        ("sqlite:///{tmp}/x.db", TOKEN + "\n\x07bell"),  # a token no header can carry
    ],
    ids=["unreachable-postgresql", "uncreatable-sqlite", "unusable-token"],
)
def test_runs_that_cannot_start_exit_2_without_the_token(
    gateway: str, tmp_path: Path, database_url: str, token: str
) -> None:
    ids = id_file(tmp_path / "ids.txt", IDS[:3])
    url = database_url.format(token=TOKEN, tmp=tmp_path)
    result = syncer(
        "run", "--ids", str(ids), "--gateway-url", gateway, "--database-url", url, env={"SYNCER_TOKEN": token}
    )
    assert result.code == 2, result.stderr[-2000:]
    assert result.stderr.startswith("syncer: error: ")
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback
    assert_no_secret(result.stdout, result.stderr)


def test_unreachable_gateway_stops_the_run_without_the_token(sqlite_url: str, tmp_path: Path) -> None:
    ids = id_file(tmp_path / "ids.txt", IDS[:4])
    result = syncer(
        "run",
        "--ids",
        str(ids),
        "--gateway-url",
        "http://127.0.0.1:9/api/v1",
        "--database-url",
        sqlite_url,
        "--max-attempts",
        "1",
        "--token",
        TOKEN,
    )
    assert result.code == 2, result.stderr[-2000:]  # unreachable from the start: exit 2 (contract)
    assert "127.0.0.1:9" in str(error_lines(result)[0]["message"])
    failures = asyncio.run(read_tables(sqlite_url)).failure_rows
    assert {row["kind"] for row in failures} == {"connection"}
    assert_no_secret(result.stdout, result.stderr, json.dumps(failures, default=str))
