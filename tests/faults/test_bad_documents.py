"""Every bad answer a gateway can give fails its own id, with its own `kind` in sync_failures,
and every other id of the same run still syncs (one run per backend; one test per answer)."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

from syncer.gateway import retry
from syncer.ids import valid_id
from syncer.sandbox import SandboxConfig, running_sandbox
from syncer.sandbox.faults import FAULT_KINDS
from tests.faults.harness import (
    Tables,
    assert_synced_exactly,
    listed,
    read_tables,
    requested_ids,
    sandbox_requests,
    sync,
)

MAX_ATTEMPTS = 2

# fault -> (sync_failures.kind, sync_failures.http_status, retried?)
EXPECTED: dict[str, tuple[str, int | None, bool]] = {
    "invalid_json": ("invalid_json", None, False),
    "empty": ("invalid_json", None, False),
    "html": ("invalid_json", None, False),
    "array": ("not_an_object", None, False),
    "data_null": ("no_data", None, False),
    "missing_id": ("missing_id", None, False),
    "wrong_id": ("id_mismatch", None, False),
    "no_version": ("bad_last_updated", None, False),
    "bad_last_updated": ("bad_last_updated", None, False),
    "nan": ("non_finite_number", None, False),
    "infinity": ("non_finite_number", None, False),
    "huge_number": ("number_out_of_range", None, False),
    "duplicate_key": ("duplicate_key", None, False),
    "nul_text": ("bad_text", None, False),
    "deep": ("too_deep", None, False),
    "not_utf8": ("not_utf8", None, False),
    "status_2003": ("not_found", None, False),
    "status_2004": ("rate_limited_2004", None, True),
    "status_9999": ("gateway_status", None, False),
    "huge": ("body_too_large", None, False),
    "huge_chunked": ("body_too_large", None, False),
    "gzip_bomb": ("body_too_large", None, False),
    "truncated": ("truncated", None, True),
    "slow_drip": ("timeout", None, True),
    "http_400": ("http_400", 400, False),
    "http_418": ("http_418", 418, False),
    "http_500": ("http_500", 500, True),
    "http_502": ("http_502", 502, True),
}
BY_ID = {  # ids whose name asks the sandbox for an answer
    "unavailable-1": ("http_503", 503, True),
    "missing-1": ("not_found", 404, False),
}
GOOD = [f"good-{i:03d}" for i in range(40)]
BAD = {f"fault-{kind}-1": expected for kind, expected in EXPECTED.items()} | BY_ID
CONFIG = SandboxConfig(seed=11, drip_interval_s=0.5)


@dataclass
class Scenario:
    code: int
    tables: Tables
    requests: list[dict[str, Any]]
    failed_out: str


@pytest.fixture(scope="module")
def scenario(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    failed_out = tmp_path_factory.mktemp("out") / "failed.txt"
    ids = [id for pair in itertools.zip_longest(GOOD, BAD) for id in pair if id]  # interleaved

    async def go() -> Scenario:
        async with running_sandbox(CONFIG) as url:
            code = await sync(
                url,
                module_database_url,
                listed(ids),
                concurrency=8,
                rate=0,
                max_attempts=MAX_ATTEMPTS,
                timeout=1.0,  # the slow drip would take an hour
                failed_out=failed_out,
            )
            requests = await sandbox_requests(url)
        return Scenario(code, await read_tables(module_database_url), requests, failed_out.read_text())

    retry.set_testing(True)  # module fixtures run before the suite's per-test switch
    try:
        return anyio.run(go)
    finally:
        retry.set_testing(False)


def test_every_fault_the_sandbox_knows_is_covered() -> None:
    assert set(FAULT_KINDS) <= set(EXPECTED)


@pytest.mark.parametrize("id", sorted(BAD))
def test_bad_answer_fails_its_own_id_with_its_kind_and_the_rest_syncs(scenario: Scenario, id: str) -> None:
    kind, http_status, _ = BAD[id]
    failure = scenario.tables.failures[id]
    assert (failure["kind"], failure["http_status"]) == (kind, http_status)
    assert failure["message"] and len(failure["message"]) < 300  # a summary, never the body
    assert id not in scenario.tables.sessions
    assert id not in scenario.tables.raw
    assert_synced_exactly(scenario.tables, GOOD, CONFIG)


def test_only_transient_answers_were_retried(scenario: Scenario) -> None:
    asked = Counter(requested_ids(scenario.requests))
    for id, (_, _, retried) in BAD.items():
        assert asked[id] == (MAX_ATTEMPTS if retried else 1), id
    assert all(asked[id] == 1 for id in GOOD)
    assert set(asked) == set(GOOD) | set(BAD)  # every request went to a session path we asked for


def test_run_is_recorded_with_exit_code_1(scenario: Scenario) -> None:
    assert scenario.code == 1
    (run,) = scenario.tables.runs
    failed = [id for id, (kind, _, _) in BAD.items() if kind != "not_found"]
    assert (run["status"], run["exit_code"]) == ("failed", 1)
    assert run["requested"] == len(GOOD) + len(BAD)
    assert (run["inserted"], run["failed"], run["not_found"]) == (
        len(GOOD),
        len(failed),
        len(BAD) - len(failed),
    )
    assert set(scenario.tables.sessions) == set(GOOD)


def test_failed_out_lists_exactly_the_failed_ids_ready_to_replay(scenario: Scenario) -> None:
    failed = {id for id, (kind, _, _) in BAD.items() if kind != "not_found"}
    lines = scenario.failed_out.splitlines()
    assert sorted(lines) == sorted(failed)
    assert all(valid_id(line) for line in lines)  # a valid --ids file
