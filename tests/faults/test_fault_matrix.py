"""The fault matrix: 20% of requests answered 503 and 5% of ids with a malformed body, over real
sockets. Every id ends synced (whole and exact) or recorded as failed with its kind, and the
exit code says 1 only when some id truly failed."""

from __future__ import annotations

from collections import Counter, defaultdict

from syncer.sandbox import SandboxConfig, running_sandbox
from syncer.sandbox.faults import MALFORMED_KINDS, malformed_kind
from tests.faults.harness import (
    Tables,
    assert_synced_exactly,
    listed,
    read_tables,
    requested_ids,
    sandbox_requests,
    sandbox_stats,
    sync,
)

IDS = [f"mx-{i:04d}" for i in range(300)]
KIND_OF_MALFORMED = {
    "truncated": "invalid_json",
    "array": "not_an_object",
    "data_null": "no_data",
    "not_utf8": "not_utf8",
    "wrong_id": "id_mismatch",
    "bad_date": "bad_last_updated",
}
OPTIONS = {"concurrency": 16, "rate": 0, "batch_size": 50}


def assert_every_id_accounted_for(tables: Tables, config: SandboxConfig, failed: dict[str, str]) -> None:
    """Synced exactly, or failed with the expected kind; never both, never neither."""
    synced = set(IDS) - set(failed)
    assert set(tables.sessions) == synced
    assert {id: row["kind"] for id, row in tables.failures.items()} == failed
    assert_synced_exactly(tables, sorted(synced), config)
    assert set(tables.raw) == set(tables.periods) == synced  # nothing stored half


async def test_503s_and_malformed_bodies_every_id_synced_or_failed_with_its_kind(database_url: str) -> None:
    config = SandboxConfig(failure_rate=0.2, malformed_rate=0.05, seed=7)
    async with running_sandbox(config) as url:
        code = await sync(url, database_url, listed(IDS), max_attempts=10, **OPTIONS)
        stats = await sandbox_stats(url)
    malformed = {id: kind for id in IDS if (kind := malformed_kind(id, config.seed, config.malformed_rate))}
    assert 5 <= len(malformed) <= 30
    assert set(malformed.values()) == set(MALFORMED_KINDS)  # the seed shows every malformation

    tables = await read_tables(database_url)
    assert_every_id_accounted_for(tables, config, {id: KIND_OF_MALFORMED[k] for id, k in malformed.items()})
    assert code == 1  # the malformed ids truly failed
    (run,) = tables.runs
    assert (run["exit_code"], run["failed"], run["inserted"]) == (1, len(malformed), 300 - len(malformed))
    assert 0.15 < stats["failures_503"] / stats["requests"] < 0.25
    assert run["retries"] == stats["failures_503"]  # each 503 retried once more, none given up


async def test_503s_alone_with_enough_attempts_exit_0(sqlite_url: str) -> None:
    config = SandboxConfig(failure_rate=0.2, seed=8)
    async with running_sandbox(config) as url:
        code = await sync(url, sqlite_url, listed(IDS), max_attempts=10, **OPTIONS)
        stats = await sandbox_stats(url)
    assert code == 0
    assert stats["failures_503"] > 30
    tables = await read_tables(sqlite_url)
    assert_every_id_accounted_for(tables, config, {})
    assert tables.runs[0]["status"] == "ok"


async def test_503s_with_one_attempt_fail_exactly_the_ids_answered_503(sqlite_url: str) -> None:
    config = SandboxConfig(failure_rate=0.2, seed=9)
    async with running_sandbox(config) as url:
        code = await sync(url, sqlite_url, listed(IDS), max_attempts=1, **OPTIONS)
        requests = await sandbox_requests(url)
    statuses: dict[str, list[int]] = defaultdict(list)
    for id, record in zip(requested_ids(requests), requests, strict=True):
        statuses[id].append(record["status"])
    assert Counter(len(s) for s in statuses.values()) == {1: 300}  # one attempt means no retry
    answered_503 = {id for id, s in statuses.items() if s == [503]}
    assert 30 < len(answered_503) < 90
    assert code == 1
    tables = await read_tables(sqlite_url)
    assert_every_id_accounted_for(tables, config, dict.fromkeys(answered_503, "http_503"))
    assert all(tables.failures[id]["http_status"] == 503 for id in answered_503)
