"""A gateway that is down, not the gateway, unreachable, echoing the token, or sending versions
from the future: the run is never green while nothing synced, stops at once when the URL is no
use, and stores no secret and no version from the future. Over real sockets: the sandbox, or a
small hostile server of the tests' own (`hostile.py`)."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from syncer.pipeline.start import run_queue
from syncer.sandbox import SandboxConfig, running_sandbox
from syncer.settings import load_settings
from syncer.warehouse.queue import Queue
from syncer.warehouse.store import Store
from syncer.warehouse.tables import QUEUE
from tests.e2e.cli import Result, syncer
from tests.faults.harness import id_file, read_tables, sandbox_requests, sync
from tests.faults.hostile import Answer, Seen, document, hostile_gateway, json_answer

TOKEN = "tok-Echo-7b3e9d1c5a"


def error_events(result: Result) -> list[dict[str, Any]]:
    return [e for e in result.events if e.get("level") == "error"]


async def queue_rows(database_url: str) -> dict[str, dict[str, Any]]:
    async with Store.open(database_url) as store, store.engine.connect() as conn:
        result = await conn.execute(sa.select(QUEUE))
        return {row.id: dict(row._mapping) for row in result}


async def enqueue(database_url: str, ids: list[str]) -> None:
    async with Store.open(database_url) as store:
        await Queue(store).enqueue(ids, datetime.now(UTC))


# -- down, wrong, unreachable ----------------------------------------------------------------------


async def test_a_gateway_down_for_the_whole_queue_run_is_degraded_not_green(database_url: str) -> None:
    ids = [f"unavailable-{i:02d}" for i in range(20)]  # the sandbox answers these 503, always
    await enqueue(database_url, ids)
    async with running_sandbox(SandboxConfig(seed=7)) as url:
        settings = load_settings(gateway_url=url, database_url=database_url, rate=0)
        code = await run_queue(settings)
    assert code == 1
    tables = await read_tables(database_url)
    (run,) = tables.runs
    assert (run["status"], run["exit_code"], run["deferred"], run["failed"]) == ("degraded", 1, 20, 0)
    assert tables.sessions == {}
    rows = await queue_rows(database_url)
    assert {row["status"] for row in rows.values()} == {"pending"}  # deferred, tried again later
    assert {row["last_error_kind"] for row in rows.values()} == {"http_503"}


async def test_envelope_404s_are_real_not_found_and_the_run_stays_green(
    sqlite_url: str, tmp_path: Path
) -> None:
    missing = id_file(tmp_path / "missing.txt", ["missing-1", "missing-2", "missing-3", "missing-4"])
    mixed_ids = id_file(tmp_path / "mixed.txt", ["missing-00001", "ok-1", "ok-2"])
    async with running_sandbox(SandboxConfig(seed=7)) as url:
        only_missing = await sync(url, sqlite_url, missing)
        mixed = await sync(url, sqlite_url, mixed_ids)
    assert (only_missing, mixed) == (0, 0)
    runs = (await read_tables(sqlite_url)).runs
    assert [(r["status"], r["not_found"]) for r in runs] == [("ok", 4), ("ok", 1)]


async def test_a_wrong_base_path_stops_the_run_at_once(database_url: str, tmp_path: Path) -> None:
    ids = id_file(tmp_path / "ids.txt", [f"s-{i:03d}" for i in range(200)])
    async with running_sandbox(SandboxConfig(seed=7)) as url:  # serves /api/v1
        code = await sync(url.replace("/api/v1", "/api/v2"), database_url, ids, concurrency=4, rate=0)
        asked = await sandbox_requests(url)
    assert code == 2
    assert len(asked) < 20  # not 200 ids "not found"
    (run,) = (await read_tables(database_url)).runs
    assert (run["status"], run["exit_code"]) == ("failed", 2)


def test_the_cli_names_the_url_that_answered_plain_text_404s(sqlite_url: str, tmp_path: Path) -> None:
    ids = id_file(tmp_path / "ids.txt", [f"s-{i:03d}" for i in range(200)])

    def never(id: str, seen: Seen) -> Answer:
        raise AssertionError("the right path was never asked")

    with hostile_gateway(never) as (url, _):
        wrong = url.replace("/api/v1", "/v1")  # aiohttp's own plain-text 404 for any other path
        result = syncer("run", "--ids", str(ids), "--gateway-url", wrong, "--database-url", sqlite_url)
    assert result.code == 2, result.stderr[-2000:]
    (error,) = error_events(result)
    assert error["event"] == "run.gateway_unusable"
    assert f"{wrong}/sessions/" in error["message"] and "HTTP 404" in error["message"]
    assert result.summary["not_found"] < 50  # stopped at once, not 200 ids counted not_found


def test_an_unreachable_gateway_exits_2_within_seconds(sqlite_url: str, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ids = id_file(tmp_path / "ids.txt", [f"s-{i:03d}" for i in range(200)])
    url = f"http://127.0.0.1:{port}/api/v1"
    result = syncer(
        "run", "--ids", str(ids), "--gateway-url", url, "--database-url", sqlite_url, "--rate", "20"
    )
    assert result.code == 2, result.stderr[-2000:]
    (error,) = error_events(result)
    assert f"cannot connect to 127.0.0.1:{port}" in error["message"]
    assert result.summary["duration_s"] < 30  # was 56 s: 5 attempts per id at the rate limit
    runs = asyncio.run(read_tables(sqlite_url)).runs
    assert [(r["status"], r["exit_code"]) for r in runs] == [("failed", 2)]


def test_a_misspelt_variable_or_credentials_in_the_url_exit_2_in_one_line(tmp_path: Path) -> None:
    ids = id_file(tmp_path / "ids.txt", ["s-1"])
    db = f"sqlite:///{tmp_path / 'x.db'}"
    url = "http://127.0.0.1:9/api/v1"
    typo = syncer(
        "run", "--ids", str(ids), "--gateway-url", url, "--database-url", db, env={"SYNCER_CONCURENCY": "5"}
    )
    assert (typo.code, typo.stderr) == (
        2,
        "syncer: error: SYNCER_CONCURENCY: unknown variable; did you mean SYNCER_CONCURRENCY?\n",
    )
    with_password = "http://user:pa55word@127.0.0.1:9/api/v1"
    creds = syncer(
        "run", "--ids", str(ids), "--gateway-url", with_password, "--token", TOKEN, "--database-url", db
    )
    assert creds.code == 2 and creds.stderr.count("\n") == 1, creds.stderr  # one line, no traceback
    assert "credentials" in creds.stderr and "pa55word" not in creds.stderr and TOKEN not in creds.stderr
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


# -- the token echoed back -------------------------------------------------------------------------


def echoing(id: str, seen: Seen) -> Answer:
    if id.startswith("echo-msg"):  # in the envelope's message, upper-cased
        return json_answer(
            {"status_code": 2001, "status_message": f"bad token {TOKEN.upper()}", "data": None}
        )
    if id.startswith("echo-field"):  # in fields of the document
        return json_answer(document(id, auth_id=TOKEN, status=f"x-{TOKEN.lower()}"))
    return json_answer(document(id))


@pytest.mark.slow
def test_a_token_echoed_by_the_gateway_is_stored_nowhere(tmp_path: Path) -> None:
    database = tmp_path / "echo.db"
    url_db = f"sqlite:///{database}"
    ids = ["echo-msg-1", "echo-msg-2", "echo-field-1", "plain-1", TOKEN]  # even an id holding it
    path = id_file(tmp_path / "ids.txt", ids)
    failed_out = tmp_path / "failed.txt"
    env = {"SYNCER_TOKEN": TOKEN}
    with hostile_gateway(echoing) as (url, seen):
        common = ["--gateway-url", url, "--database-url", url_db, "--rate", "0"]
        by_file = syncer("run", "--ids", str(path), "--failed-out", str(failed_out), *common, env=env)
        enqueued = syncer("enqueue", str(path), "--database-url", url_db, env=env)
        by_queue = syncer("run", "--queue", "--max-attempts", "1", *common, env=env)
    assert seen.authorizations == {f"Bearer {TOKEN}"}
    assert enqueued.code == 1  # the id holding the token is refused, the others queued
    assert (by_file.code, by_queue.code) == (1, 1), by_file.stderr[-2000:]
    tables = asyncio.run(read_tables(url_db))
    assert tables.sessions["echo-field-1"]["auth_id"] == "***"
    assert tables.sessions["echo-field-1"]["status"] == "x-***"
    assert any("bad token ***" in row["message"] for row in tables.failure_rows)
    assert TOKEN.lower() not in seen.ids  # an id holding the token is never sent
    assert {row["id"] for row in tables.failure_rows if row["kind"] == "invalid_id"} == {"***"}
    queue = asyncio.run(queue_rows(url_db))
    assert "bad token ***" in str(queue["echo-msg-1"]["last_error"])
    secret = TOKEN.lower().encode()
    everything = [by_file.stdout, by_file.stderr, by_queue.stdout, by_queue.stderr, failed_out.read_text()]
    everything += [enqueued.stdout, enqueued.stderr]
    for text in everything:
        assert TOKEN.lower() not in text.lower()
    assert secret not in database.read_bytes().lower()  # no table, no index, no free page


# -- versions from the future ----------------------------------------------------------------------


async def test_a_version_from_the_future_fails_and_is_not_stored(database_url: str, tmp_path: Path) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    versions = {"future-1": "9999-01-01T00:00:00Z", "soon-1": soon}

    def answer(id: str, seen: Seen) -> Answer:
        return json_answer(document(id, last_updated=versions[id]))

    ids = id_file(tmp_path / "ids.txt", ["future-1", "soon-1"])
    with hostile_gateway(answer) as (url, _):
        first = await sync(url, database_url, ids, rate=0)
        versions["future-1"] = "2026-11-01T00:00:00Z"  # the gateway fixed its clock
        second = await sync(url, database_url, ids, rate=0)
    assert (first, second) == (1, 0)
    tables = await read_tables(database_url)
    (failure,) = tables.failure_rows
    assert (failure["id"], failure["kind"]) == ("future-1", "future_version")
    assert "9999-01-01" in failure["message"]
    assert tables.sessions["future-1"]["last_updated"] == datetime(2026, 11, 1, tzinfo=UTC)  # not stale
    assert "soon-1" in tables.sessions  # within the tolerance (a day)
    assert json.loads(tables.raw["future-1"])["last_updated"] == "2026-11-01T00:00:00Z"
