"""Politeness over real sockets, measured at the gateway: the sandbox limits every client
together to R requests/s (a token bucket, 429 + Retry-After beyond it, as gateways do).

- The worker at --rate R gets no 429 at all and still achieves R within 10%.
- At --rate 3R it is refused, pauses the whole process on each refusal, slows down, and
  syncs every id with few 429s (the figure is printed: run pytest with -s or -rP to see it).
- Retry-After as an HTTP date, and a 2004 inside an HTTP 200, pause the whole process too.
"""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest

from syncer.sandbox import SandboxConfig, running_sandbox
from tests.faults.harness import Row, listed, read_tables, requested_ids, sandbox_requests, sync

pytestmark = pytest.mark.slow

R = 50
CONCURRENCY = 16


def arrivals_between(requests: list[Row], start: float, end: float) -> list[Row]:
    return [r for r in requests if start <= float(r["at"]) <= end]


async def warm_up(config: SandboxConfig, ids: list[str]) -> None:
    """Have the sandbox's body cache (shared by every sandbox in this process) hold these ids'
    documents, so that generating them does not compete with the worker for this process's
    CPU while the pace is measured: a real gateway runs on another machine."""
    async with running_sandbox(config) as url, httpx.AsyncClient() as client:
        for start in range(0, len(ids), 50):
            await asyncio.gather(*(client.get(f"{url}/sessions/{id}") for id in ids[start : start + 50]))


async def limited_run(rate: float, ids: list[str], sqlite_url: str) -> tuple[int, list[Row]]:
    config = SandboxConfig(rate_limit=R, seed=21)
    await warm_up(dataclasses.replace(config, rate_limit=0), ids)
    async with running_sandbox(config) as url:
        code = await sync(url, sqlite_url, listed(ids), rate=rate, concurrency=CONCURRENCY)  # 5 attempts
        requests = await sandbox_requests(url)
    return code, requests


async def test_at_the_gateway_rate_no_429_and_never_faster_than_the_rate(sqlite_url: str) -> None:
    """Politeness is the invariant: never over the rate, so never a 429. How close to the rate a run
    gets depends on the machine (a loaded one lags): bench/ measures that; here only a limiter that
    is broken by a large factor fails."""
    ids = [f"rate-{i:04d}" for i in range(300)]
    code, requests = await limited_run(R, ids, sqlite_url)
    statuses = [r["status"] for r in requests]
    ok = [float(r["at"]) for r in requests if r["status"] == 200]
    gateway_rate = (len(ok) - 1) / (ok[-1] - ok[0])
    (run,) = (await read_tables(sqlite_url)).runs
    print(
        f"\n--rate {R} against a gateway allowing {R}/s: {statuses.count(429)} x 429, "
        f"{gateway_rate:.1f} requests/s at the gateway, {run['sessions_per_s']} sessions/s for the run"
    )
    assert statuses.count(429) == 0
    assert len(requests) == len(ids)  # one request each: nothing refused, nothing retried
    assert gateway_rate <= 1.1 * R
    assert gateway_rate >= 0.25 * R
    assert code == 0


async def test_at_three_times_the_rate_the_limiter_pauses_and_every_id_syncs(sqlite_url: str) -> None:
    ids = [f"fast-{i:04d}" for i in range(150)]
    code, requests = await limited_run(3 * R, ids, sqlite_url)
    refused = [float(r["at"]) for r in requests if r["status"] == 429]
    ok = [float(r["at"]) for r in requests if r["status"] == 200]
    print(
        f"\n--rate {3 * R} against a gateway allowing {R}/s: {len(refused)} x 429 for {len(ids)} ids "
        f"({len(requests)} requests), {len(ok) / (ok[-1] - ok[0]):.1f} ok/s at the gateway"
    )
    assert code == 0
    tables = await read_tables(sqlite_url)
    assert set(tables.sessions) == set(ids)
    assert tables.failure_rows == []
    assert set(requested_ids(requests)) == set(ids)
    assert 1 <= len(refused) <= 20  # a handful, not one per id (nor one per pause)
    for at in refused:
        # Retry-After: 1 paused every task: only requests already in flight arrive just after it
        assert arrivals_between(requests, at + 0.3, at + 0.9) == [], at


async def test_retry_after_as_an_http_date_pauses_the_whole_process(sqlite_url: str) -> None:
    ids = ["limited-1", *(f"date-{i:02d}" for i in range(30))]
    config = SandboxConfig(retry_after_date=True, retry_after_s=2)
    async with running_sandbox(config) as url:
        code = await sync(url, sqlite_url, listed(ids), rate=0, concurrency=4)
        requests = await sandbox_requests(url)
    assert code == 0
    assert requested_ids(requests).count("limited-1") == 2
    refused_at = float(next(r["at"] for r in requests if r["status"] == 429))
    later = [float(r["at"]) for r in requests if float(r["at"]) > refused_at + 0.3]
    # A date at least 2 s ahead: a client that failed to read it would wait its 1 s default.
    assert min(later) - refused_at >= 1.8
    assert len((await read_tables(sqlite_url)).sessions) == len(ids)


async def test_a_2004_inside_an_http_200_pauses_the_whole_process(sqlite_url: str) -> None:
    ids = ["busy-1", *(f"calm-{i:02d}" for i in range(30))]
    async with running_sandbox(SandboxConfig()) as url:
        code = await sync(url, sqlite_url, listed(ids), rate=0, concurrency=4)
        requests = await sandbox_requests(url)
    assert code == 0
    asked = requested_ids(requests)
    assert asked.count("busy-1") == 2
    busy_at = float(requests[asked.index("busy-1")]["at"])
    assert arrivals_between(requests, busy_at + 0.3, busy_at + 0.9) == []
    assert float(requests[-1]["at"]) - busy_at >= 0.9  # the other ids waited too
    assert len((await read_tables(sqlite_url)).sessions) == len(ids)
