"""Hostile ids never reach the gateway: rejected (and reported as `invalid_id`) by the id source,
and again by the client when a source trusts what it was given. The other ids sync."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

from syncer.gateway import retry
from syncer.ids import SHOWN_CHARS, shown
from syncer.sandbox import SandboxConfig, running_sandbox
from tests.faults.harness import (
    Tables,
    assert_synced_exactly,
    id_file,
    listed,
    read_tables,
    requested_ids,
    sandbox_requests,
    sync,
)

HOSTILE = [
    "../x",
    "../../etc/passwd",
    "a/b",
    "sessions/../../_sandbox/stats",
    "%2e%2e",
    "a%2Fb",
    "a%00b",
    "?q=1",
    "x?limit=1000",
    "a#frag",
    "a b",
    "http://evil.example/x",
    "x" * 65,
    "x" * 200,
    "a\x00b",
    "bell\x07",
    "\x1b[2J\x1b[31mred",
    "tab\tid",
    "x'; DROP TABLE sessions; --",
    'x" OR "1"="1',
    ".",
    "..",
    "café",
    "ｓｅｓｓｉｏｎ",  # full-width letters
]
GOOD = [f"ok-{i:02d}" for i in range(12)]
CONFIG = SandboxConfig(seed=4)


@dataclass
class Scenario:
    codes: tuple[int, int]
    tables: Tables
    requests: list[dict[str, Any]]


@pytest.fixture(scope="module")
def scenario(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    mixed = [id for pair in zip(GOOD, HOSTILE, strict=False) for id in pair] + HOSTILE[len(GOOD) :]
    ids_path = id_file(tmp_path_factory.mktemp("ids") / "ids.txt", mixed)

    async def go() -> Scenario:
        async with running_sandbox(CONFIG) as url:
            options: dict[str, Any] = {"concurrency": 4, "rate": 0}
            from_file = await sync(url, module_database_url, ids_path, **options)
            trusted = await sync(url, module_database_url, listed(mixed), **options)
            requests = await sandbox_requests(url)
        return Scenario((from_file, trusted), await read_tables(module_database_url), requests)

    retry.set_testing(True)
    try:
        return anyio.run(go)
    finally:
        retry.set_testing(False)


def failures_of_run(tables: Tables, run: int) -> dict[str, dict[str, Any]]:
    run_id = tables.runs[run]["run_id"]
    return {row["id"]: row for row in tables.failure_rows if row["run_id"] == run_id}


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda id: repr(id)[:40])
def test_hostile_id_is_rejected_before_any_request_and_reported(scenario: Scenario, hostile: str) -> None:
    reported = shown(hostile)
    assert len(reported) <= SHOWN_CHARS
    assert reported.isprintable()  # no NUL for PostgreSQL, no escape sequence for a terminal
    from_file, trusted = failures_of_run(scenario.tables, 0), failures_of_run(scenario.tables, 1)
    for failures in (from_file, trusted):
        row = failures[reported]
        assert (row["kind"], row["http_status"]) == ("invalid_id", None)
    assert from_file[reported]["message"].startswith("line ")  # found by the source, with its line
    assert trusted[reported]["message"].startswith("invalid session id")  # refused by the client
    assert set(scenario.tables.sessions) == set(GOOD)  # and the rest of the batch synced


def test_the_gateway_saw_only_the_good_ids_on_the_session_path(scenario: Scenario) -> None:
    assert Counter(requested_ids(scenario.requests)) == dict.fromkeys(GOOD, 2)
    assert len(scenario.requests) == 2 * len(GOOD)


def test_the_rest_of_the_batch_synced_and_each_run_exits_1(scenario: Scenario) -> None:
    assert scenario.codes == (1, 1)
    assert set(scenario.tables.sessions) == set(GOOD)
    assert_synced_exactly(scenario.tables, GOOD, CONFIG)
    first, second = scenario.tables.runs
    assert (first["inserted"], first["failed"]) == (len(GOOD), len(HOSTILE))
    assert (second["unchanged"], second["failed"]) == (len(GOOD), len(HOSTILE))
