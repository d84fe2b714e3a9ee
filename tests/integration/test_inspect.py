"""`syncer runs`, `syncer failures` and `queue status` print what the tables hold (both
backends), and the live run bookkeeping of `warehouse.runs` writes only a running row."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from syncer.cli import main
from syncer.outcomes import Failure, RunStatus, RunSummary
from syncer.warehouse import runs
from syncer.warehouse.queue import Queue
from syncer.warehouse.store import Store
from syncer.warehouse.tables import QUEUE, RUNS

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out = capsys.readouterr().out
    assert done.value.code == 0, out
    return out


async def _history(url: str) -> None:
    async with Store.open(url) as store:
        await store.start_run("a" * 32, "file", T0)
        ok = RunSummary(
            requested=10, fetched=9, inserted=7, updated=1, unchanged=1, not_found=1, duration_s=4.0
        )
        await store.finish_run(
            "a" * 32, ok, status=RunStatus.OK, exit_code=0, finished_at=T0 + timedelta(seconds=4)
        )
        await store.start_run("b" * 32, "queue", T0 + timedelta(hours=1))
        failures = [
            Failure("s-1", "http_503", "gateway busy or failing (HTTP 503 on GET /api/v1/sessions/s-1)", 503),
            Failure("s-2", "http_503", "gateway busy or failing (HTTP 503 on GET /api/v1/sessions/s-2)", 503),
            Failure("s-3", "invalid_json", "not JSON", None),
        ]
        await store.record_failures("b" * 32, failures, at=T0 + timedelta(hours=1, seconds=5))
        bad = RunSummary(requested=3, failed=3, retries=8, duration_s=6.0)
        await store.finish_run(
            "b" * 32, bad, status=RunStatus.FAILED, exit_code=1, finished_at=T0 + timedelta(hours=1)
        )


def test_runs_lists_the_runs_newest_first(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_history(database_url))
    rows = json.loads(cli(capsys, "runs", "--json", "--database-url", database_url))
    assert [r["run_id"] for r in rows] == ["b" * 32, "a" * 32]
    assert rows[1]["inserted"] == 7 and rows[1]["status"] == "ok" and rows[1]["started_at"] == T0.isoformat()
    table = cli(capsys, "runs", "--limit", "1", "--database-url", database_url).splitlines()
    assert len(table) == 2 and table[0].split()[:3] == ["RUN", "STARTED", "(UTC)"]
    cells = table[1].split()
    assert cells[:5] == ["b" * 12, "2026-12-01", "04:00:00", "queue", "failed"]
    assert cells[5:] == ["1", "3", "0", "0", "3", "8", "0:00:06", "0.0"]  # exit, requested, synced, ...


def test_failures_are_grouped_by_kind_with_what_to_do(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_history(database_url))
    groups = json.loads(cli(capsys, "failures", "--json", "--database-url", database_url))
    assert [(g["kind"], g["failures"], g["ids"], g["runs"]) for g in groups] == [
        ("http_503", 2, 2, 1),
        ("invalid_json", 1, 1, 1),
    ]
    assert groups[0]["example_id"] == "s-2" and groups[0]["http_status"] == 503
    assert "syncer queue retry --kind http_503" in groups[0]["next_step"]
    assert "report the id" in groups[1]["next_step"]
    text = cli(
        capsys, "failures", "--run", "b" * 12, "--kind", "invalid_json", "--database-url", database_url
    )
    assert text.splitlines()[0].startswith("invalid_json: 1 failures (1 ids, 1 runs)")
    assert "example: s-3: not JSON" in text and "http_503" not in text
    none = cli(capsys, "failures", "--run", "a" * 32, "--database-url", database_url)
    assert none.strip() == f"no failures recorded for run {'a' * 32}"


def test_queue_status_tells_due_from_deferred_and_the_last_success(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_history(database_url))

    async def queue() -> None:
        async with Store.open(database_url) as store:
            await Queue(store).enqueue(["due-1", "deferred-1"], datetime.now(UTC) - timedelta(minutes=10))
            async with store.engine.begin() as conn:  # deferred by backoff: due in an hour
                later = datetime.now(UTC) + timedelta(hours=1)
                await conn.execute(
                    sa.update(QUEUE).where(QUEUE.c.id == "deferred-1").values(available_at=later)
                )

    asyncio.run(queue())
    status = json.loads(cli(capsys, "queue", "status", "--json", "--database-url", database_url))
    assert status["pending"] == 2 and status["due"] == 1 and status["deferred"] == 1
    assert 590 < status["oldest_due_age_s"] < 900  # the due one only
    age = (datetime.now(UTC) - (T0 + timedelta(seconds=4))).total_seconds()
    assert abs(status["last_success_age_s"] - age) < 120


async def test_the_heartbeat_writes_counts_only_while_the_row_is_running(database_url: str) -> None:
    async with Store.open(database_url) as store:
        await store.start_run("r" * 32, "file", T0)
        await runs.mark_started(store, "r" * 32, syncer_version="9.9", gateway_url="https://gw/api/v1", at=T0)
        live = RunSummary(requested=5, fetched=4, inserted=3, retries=2)
        assert await runs.heartbeat(store, "r" * 32, live, at=T0 + timedelta(seconds=30), duration_s=30.0)
        async with store.engine.connect() as conn:
            row = (await conn.execute(sa.select(RUNS))).one()._mapping
        assert (row["status"], row["requested"], row["inserted"], row["retries"]) == ("running", 5, 3, 2)
        assert row["syncer_version"] == "9.9" and row["gateway_url"] == "https://gw/api/v1"
        assert row["heartbeat_at"].replace(tzinfo=UTC) == T0 + timedelta(seconds=30)
        assert row["sessions_per_s"] == pytest.approx(4 / 30, abs=0.1)
        await store.finish_run("r" * 32, live, status=RunStatus.OK, exit_code=0, finished_at=T0)
        assert not await runs.heartbeat(store, "r" * 32, RunSummary(), at=T0, duration_s=1.0)  # a late beat
        async with store.engine.connect() as conn:
            assert (await conn.execute(sa.select(RUNS.c.inserted))).scalar_one() == 3
