"""One id's huge Retry-After never holds the others beyond `--max-retry-after`, over real
sockets: the sandbox refuses `limited-1` once with `Retry-After: 100000` (28 hours)."""

from __future__ import annotations

import itertools

from syncer.sandbox import SandboxConfig, running_sandbox
from tests.faults.harness import listed, read_tables, requested_ids, sandbox_requests, sync

CAP = 2.0


async def test_a_huge_retry_after_holds_the_run_no_longer_than_the_cap(sqlite_url: str) -> None:
    ids = ["limited-1", *(f"calm-{i:02d}" for i in range(40))]
    async with running_sandbox(SandboxConfig(retry_after_s=100_000)) as url:
        code = await sync(url, sqlite_url, listed(ids), rate=0, concurrency=4, max_retry_after=CAP)
        requests = await sandbox_requests(url)
    assert code == 0
    tables = await read_tables(sqlite_url)
    assert set(tables.sessions) == set(ids)  # every id synced, the refused one too
    asked = requested_ids(requests)
    assert asked.count("limited-1") == 2
    first, second = (float(r["at"]) for r, id in zip(requests, asked, strict=True) if id == "limited-1")
    assert CAP - 0.2 <= second - first <= CAP + 3.0  # honoured up to the cap, then retried
    times = [float(r["at"]) for r in requests]
    longest_gap = max(b - a for a, b in itertools.pairwise(times))
    assert CAP - 0.2 <= longest_gap <= CAP + 3.0  # everyone paused for the cap, not 28 hours
    (run,) = tables.runs
    assert run["duration_s"] < 30
