"""End to end: the CLI against the sandbox gateway over real sockets, into real databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from syncer.sandbox import SandboxConfig
from syncer.sandbox.generate import chosen
from syncer.sandbox.server import running_sandbox_in_thread
from syncer.warehouse.store import Store
from tests.e2e.cli import Result, syncer
from tests.integration.bundles import dump

TOKEN = "s3cr3t-token-value-for-tests"


def write_ids(path: Path, ids: list[str]) -> Path:
    path.write_text("# ids to sync\n\n" + "\n".join(ids) + "\n")
    return path


def tables(url: str) -> dict[str, list[tuple[object, ...]]]:
    async def go() -> dict[str, list[tuple[object, ...]]]:
        async with Store.open(url) as store:
            return await dump(store)

    return asyncio.run(go())


@pytest.mark.postgres
@pytest.mark.slow
def test_two_thousand_ids_then_unchanged_then_ten_percent_updated(pg_url: str, tmp_path: Path) -> None:
    ids = [f"e2e-{i:05d}" for i in range(2000)]
    ids_file = write_ids(tmp_path / "ids.txt", [*ids, "E2E-00001", "e2e-00002"])  # duplicates, one by case
    config = SandboxConfig(token=TOKEN, latency_ms=2)
    with running_sandbox_in_thread(config) as url:
        args = (
            "run",
            "--ids",
            str(ids_file),
            "--gateway-url",
            url,
            "--database-url",
            pg_url,
            "--concurrency",
            "32",
            "--rate",
            "0",
        )
        env = {"SYNCER_TOKEN": TOKEN}

        first = syncer(*args, env=env)
        assert first.code == 0, first.stderr[-3000:]
        assert first.summary["requested"] == 2000
        assert first.summary["inserted"] == 2000 and first.summary["failed"] == 0
        after_first = tables(pg_url)
        assert len(after_first["sessions"]) == 2000
        assert len(after_first["charging_periods"]) > 2000 * 5

        second = syncer(*args, env=env)
        assert second.code == 0
        assert second.summary["unchanged"] == 2000
        assert second.summary["inserted"] == second.summary["updated"] == 0
        assert tables(pg_url) == after_first  # byte for byte, synced_at included

        bump = httpx.post(url.split("/api/")[0] + "/_sandbox/bump", params={"share": 0.1})
        bump.raise_for_status()
        expected = {i for i in ids if chosen(i, 1, 0.1, config.seed)}
        assert 120 < len(expected) < 280

        third = syncer(*args, env=env)
        assert third.code == 0
        assert third.summary["updated"] == len(expected)
        assert third.summary["unchanged"] == 2000 - len(expected)
        after_third = tables(pg_url)
        changed = {
            row[0]
            for row, old in zip(after_third["sessions"], after_first["sessions"], strict=True)
            if row != old
        }
        assert changed == expected
    for result in (first, second, third):
        assert TOKEN not in result.stderr + result.stdout


@pytest.mark.slow
def test_sqlite_run_records_failures_and_not_found(sqlite_url: str, tmp_path: Path) -> None:
    ids = [f"ok-{i:03d}" for i in range(40)] + ["missing-1", "bad/id", "x" * 70]
    ids_file = write_ids(tmp_path / "ids.txt", ids)
    failed_out = tmp_path / "failed.txt"
    with running_sandbox_in_thread(SandboxConfig(token=TOKEN)) as url:
        result = syncer(
            "run",
            "--ids",
            str(ids_file),
            "--gateway-url",
            url,
            "--database-url",
            sqlite_url,
            "--failed-out",
            str(failed_out),
            env={"SYNCER_TOKEN": TOKEN},
        )
    assert result.code == 1, result.stderr[-2000:]  # two invalid ids failed
    summary = result.summary
    assert (summary["inserted"], summary["not_found"], summary["failed"], summary["requested"]) == (
        40,
        1,
        2,
        43,
    )
    assert failed_out.read_text() == ""  # invalid ids would fail again: not replayable
    assert len(tables(sqlite_url)["sessions"]) == 40


def test_wrong_token_stops_the_run_with_exit_3(sqlite_url: str, tmp_path: Path) -> None:
    ids_file = write_ids(tmp_path / "ids.txt", [f"t-{i}" for i in range(500)])
    with running_sandbox_in_thread(SandboxConfig(token=TOKEN)) as url:
        result = syncer(
            "run",
            "--ids",
            str(ids_file),
            "--gateway-url",
            url,
            "--database-url",
            sqlite_url,
            env={"SYNCER_TOKEN": "wrong-" + TOKEN},
        )
    assert result.code == 3, result.stderr[-2000:]
    assert "wrong-" + TOKEN not in result.stderr
    assert result.summary["status"] == "credentials_rejected"
    assert result.summary["fetched"] == 0


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("run", "--ids", "-", "--gateway-url", "http://127.0.0.1:9", "--rate", "-5"), "--rate"),
        (("run", "--ids", "-", "--gateway-url", "http://127.0.0.1:9", "--rate", "abc"), "--rate"),
        (("run", "--ids", "-", "--gateway-url", "ftp://x"), "--gateway-url"),
        (("run", "--ids", "nope.txt", "--gateway-url", "http://127.0.0.1:9"), "--ids"),
        (("run", "--queue", "--ids", "-", "--gateway-url", "http://127.0.0.1:9"), "--ids"),
        (("run", "--ids", "-"), "--gateway-url"),
        (("run", "--ids", "-", "--bogus"), "--bogus"),
        (("bogus",), "bogus"),
    ],
)
def test_bad_usage_exits_2_with_one_line(args: tuple[str, ...], names: str) -> None:
    result = syncer(*args)
    assert result.code == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("syncer: error:")
    assert names in result.stderr


def run_one_id(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> Result:
    """`syncer run` over one id against a gateway that is never reached."""
    ids_file = write_ids(tmp_path / "ids.txt", ["a"])
    return syncer("run", "--ids", str(ids_file), "--gateway-url", "http://127.0.0.1:9", *extra, env=env)


def test_unreachable_database_exits_2(tmp_path: Path) -> None:
    result = run_one_id(tmp_path, "--database-url", "postgresql://nobody:pw@127.0.0.1:1/none")
    assert result.code == 2, result.stderr
    assert "pw" not in result.stderr.replace("password", "")
    assert result.stderr.startswith("syncer: error:")


def test_a_bad_event_loop_setting_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run_one_id(tmp_path, env={"SYNCER_EVENT_LOOP": "trio"})
    assert result.code == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("syncer: error:") and "SYNCER_EVENT_LOOP" in result.stderr
