"""Refused credentials (HTTP 401 or 403, or an envelope 2002) concern every id: the run stops at
once with exit code 3 instead of trying, and retrying, each id."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.sandbox import SandboxConfig, running_sandbox
from syncer.sandbox.server import running_sandbox_in_thread
from tests.e2e.cli import syncer
from tests.faults.harness import id_file, listed, read_tables, sandbox_stats, sync

TOKEN = "tok-credentials-test-7c1d"
IDS = [f"cred-{i:03d}" for i in range(500)]
CONCURRENCY = 4


async def refused_run(
    config: SandboxConfig, database_url: str, ids: list[str], token: str
) -> tuple[int, int]:
    async with running_sandbox(config) as url:
        code = await sync(
            url, database_url, listed(ids), token=token, concurrency=CONCURRENCY, rate=0, max_attempts=5
        )
        stats = await sandbox_stats(url)
    return code, stats["requests"]


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_token_stops_the_run_at_once_with_exit_3(database_url: str, status: int) -> None:
    config = SandboxConfig(token=TOKEN, auth_failure_status=status)
    code, requests = await refused_run(config, database_url, IDS, token="wrong-" + TOKEN)
    assert code == 3
    assert 1 <= requests <= CONCURRENCY  # the ones already in flight, no retries, no other ids
    tables = await read_tables(database_url)
    (run,) = tables.runs
    assert (run["status"], run["exit_code"], run["fetched"], run["retries"]) == (
        "credentials_rejected",
        3,
        0,
        0,
    )
    assert tables.sessions == {}
    assert tables.failure_rows == []  # no id failed: the credentials did


async def test_envelope_2002_inside_an_http_200_stops_the_run_too(sqlite_url: str) -> None:
    ids = [*IDS[:20], "fault-status_2002-1", *IDS[20:]]
    code, requests = await refused_run(SandboxConfig(token=TOKEN), sqlite_url, ids, token=TOKEN)
    assert code == 3
    assert requests <= 21 + CONCURRENCY  # stopped right after it, far from the 501 ids
    (run,) = (await read_tables(sqlite_url)).runs
    assert run["status"] == "credentials_rejected"


async def test_the_right_token_syncs(sqlite_url: str) -> None:
    code, requests = await refused_run(SandboxConfig(token=TOKEN), sqlite_url, IDS[:10], token=TOKEN)
    assert (code, requests) == (0, 10)


@pytest.mark.slow
def test_the_cli_says_why_in_one_line(sqlite_url: str, tmp_path: Path) -> None:
    ids = id_file(tmp_path / "ids.txt", IDS[:50])
    with running_sandbox_in_thread(SandboxConfig(token=TOKEN, auth_failure_status=403)) as url:
        result = syncer(
            "run",
            "--ids",
            str(ids),
            "--gateway-url",
            url,
            "--database-url",
            sqlite_url,
            "--token",
            "nope-wrong-token",
        )
    assert result.code == 3
    errors = [event for event in result.events if event.get("level") == "error"]
    assert [event["event"] for event in errors] == ["run.credentials_rejected"]
    message = str(errors[0]["message"])
    assert "HTTP 403" in message
    assert "SYNCER_TOKEN" in message  # says what to fix
    assert "\n" not in message
