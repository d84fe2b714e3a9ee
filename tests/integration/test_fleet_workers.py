"""The worker registry on real PostgreSQL (join, leave, expiry) and the fleet's share of
`--global-rate` as the workers come and go."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from syncer.gateway.ratelimit import RateLimiter
from syncer.pipeline.fleet import HOLD_BEATS, Fleet
from syncer.warehouse.store import Store
from syncer.warehouse.tables import WORKERS
from syncer.warehouse.workers import Workers


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[Store]:
    async with Store.open(pg_url) as opened:
        yield opened


async def rows(store: Store) -> dict[str, dict[str, object]]:
    async with store.engine.connect() as conn:
        return {r.worker_id: dict(r._mapping) for r in await conn.execute(sa.select(WORKERS))}


async def expire(store: Store, worker: Workers) -> None:
    """What a SIGKILL leaves: the row stays, its heartbeat stops, and its time runs out."""
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.update(WORKERS)
            .where(WORKERS.c.worker_id == worker.worker_id)
            .values(expires_at=sa.func.now() - sa.text("interval '1 second'"))
        )


async def test_workers_join_are_counted_and_recorded(store: Store) -> None:
    a, b = Workers(store, run_id="run-a"), Workers(store, run_id="run-b")
    assert await a.beat(ttl_s=30) == 1
    assert await b.beat(ttl_s=30) == 2
    assert await a.beat(ttl_s=30) == 2  # a renewal is not a new worker
    found = await rows(store)
    assert set(found) == {a.worker_id, b.worker_id}
    row = found[a.worker_id]
    assert (row["run_id"], row["host"], row["pid"]) == ("run-a", a.host, a.pid)
    assert row["expires_at"] > row["heartbeat_at"] >= row["started_at"]  # type: ignore[operator]


async def test_a_worker_that_leaves_is_gone_at_once(store: Store) -> None:
    a, b = Workers(store), Workers(store)
    await a.beat(ttl_s=30)
    await b.beat(ttl_s=30)
    await b.leave()
    assert set(await rows(store)) == {a.worker_id}
    assert await a.beat(ttl_s=30) == 1


async def test_an_expired_worker_is_not_counted_and_is_removed_then_may_come_back(store: Store) -> None:
    a, b, c = Workers(store), Workers(store), Workers(store)
    for worker in (a, b, c):
        await worker.beat(ttl_s=30)
    await expire(store, b)
    assert await a.beat(ttl_s=30) == 2  # b's share is back
    assert set(await rows(store)) == {a.worker_id, c.worker_id}
    assert await b.beat(ttl_s=30) == 3  # b was only stalled: its next beat joins again
    assert await c.beat(ttl_s=30) == 3


async def test_the_registry_refuses_sqlite(sqlite_url: str) -> None:
    async with Store.open(sqlite_url) as sqlite_store:
        with pytest.raises(ValueError, match="PostgreSQL"):
            Workers(sqlite_store)


async def test_each_fleet_member_takes_its_share_as_members_come_and_go(store: Store) -> None:
    def member(local_rate: float = 0) -> Fleet:
        return Fleet(RateLimiter(local_rate or 100.0), 100.0, local_rate, Workers(store))

    one, two, capped = member(), member(), member(local_rate=20.0)
    await one.join()
    assert (one.live, one.limiter.rate) == (1, 100.0)
    # it holds its first request until the others have counted it
    assert one.limiter.paused_until == pytest.approx(time.monotonic() + HOLD_BEATS * one.interval, abs=1.0)
    await two.join()
    assert (two.live, two.limiter.rate) == (2, 50.0)
    await one._beat()
    assert one.limiter.rate == 50.0
    await capped.join()  # 100 / 3 is more than its own --rate 20: it keeps 20
    await one._beat()
    assert (one.limiter.rate, capped.limiter.rate) == (pytest.approx(100 / 3), 20.0)
    await two.leave()
    await capped.leave()
    await one._beat()
    assert (one.live, one.limiter.rate) == (1, 100.0)
    assert set(await rows(store)) == {one.workers.worker_id}
