"""The queue table's state machine, on real PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from syncer.outcomes import Failure, Outcome
from syncer.warehouse.queue import EnqueueCounts, Queue
from syncer.warehouse.store import Store
from syncer.warehouse.tables import QUEUE
from tests.integration.bundles import bundle

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.fixture
async def queue(database_url: str) -> AsyncIterator[Queue]:
    store = Store.open(database_url)
    yield Queue(store)
    await store.close()


async def rows(queue: Queue) -> dict[str, tuple[str, int, str | None]]:
    async with queue.store.engine.connect() as conn:
        result = await conn.execute(sa.text("SELECT id, status, attempts, lease_token FROM sync_queue"))
        return {r.id: (r.status, r.attempts, r.lease_token) for r in result}


async def test_enqueue_adds_ignores_pending_and_requeues_done(queue: Queue) -> None:
    assert await queue.enqueue(["a", "b"], T) == EnqueueCounts(2, 0, 0)
    assert await queue.enqueue(["a", "b", "c"], T + timedelta(seconds=1)) == EnqueueCounts(1, 0, 2)
    await queue.claim(10, "w1", LEASE, T + timedelta(seconds=1))
    await queue.settle("w1", [Failure("a", "http_400", "x")], 5, T)
    async with queue.store.engine.begin() as conn:
        await queue.fence("w1").complete(conn, ["b"], T)
    # a failed, b done, c leased: a and b come back, c (in progress) is left alone
    assert await queue.enqueue(["a", "b", "c"], T + timedelta(seconds=2)) == EnqueueCounts(0, 2, 1)
    state = await rows(queue)
    assert state["a"][:2] == ("pending", 0)
    assert state["b"][:2] == ("pending", 0)
    assert state["c"][:2] == ("leased", 1)


async def test_enqueue_counts_an_id_twice_in_one_call_once(queue: Queue) -> None:
    # The file source stops dropping repeats past its window: a repeat can land in one batch.
    assert await queue.enqueue(["x", "y", "x"], T) == EnqueueCounts(2, 0, 1)
    assert await queue.enqueue(["x", "x", "z"], T + timedelta(seconds=1)) == EnqueueCounts(1, 0, 2)
    assert set(await rows(queue)) == {"x", "y", "z"}


async def test_a_requeued_id_starts_afresh(queue: Queue) -> None:
    await queue.enqueue(["a"], T)
    await queue.claim(10, "w1", LEASE, T)
    await queue.settle("w1", [Failure("a", "http_400", "bad request")], 1, T)
    later = T + timedelta(hours=1)
    assert await queue.enqueue(["a"], later) == EnqueueCounts(0, 1, 0)
    async with queue.store.engine.connect() as conn:
        row = (await conn.execute(sa.text("SELECT * FROM sync_queue WHERE id = 'a'"))).one()
    assert (row.status, row.attempts, row.lease_token, row.leased_until) == ("pending", 0, None, None)
    assert (row.last_error, row.last_error_kind) == (None, None)
    assert _utc(row.available_at) == _utc(row.updated_at) == later
    assert _utc(row.enqueued_at) == T  # when it first came in


def _utc(value: datetime | str) -> datetime:
    """A timestamp as read back: SQLite gives text or naive datetimes, PostgreSQL aware ones."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def test_claims_never_overlap_and_expired_leases_are_reclaimed(queue: Queue) -> None:
    await queue.enqueue([f"id{i}" for i in range(10)], T)
    first = await queue.claim(6, "w1", LEASE, T)
    second = await queue.claim(6, "w2", LEASE, T)
    assert len(first) == 6
    assert len(second) == 4
    assert not {c.id for c in first} & {c.id for c in second}
    assert await queue.claim(6, "w3", LEASE, T) == []  # nothing due: burst mode ends here
    later = await queue.claim(20, "w3", LEASE, T + LEASE + timedelta(seconds=1))  # w1, w2 died
    assert len(later) == 10
    assert {c.attempts for c in later} == {2}


async def test_heartbeat_keeps_a_lease_alive(queue: Queue) -> None:
    await queue.enqueue(["a"], T)
    await queue.claim(1, "w1", LEASE, T)
    assert await queue.extend("w1", LEASE, T + timedelta(seconds=50)) == 1
    assert await queue.claim(1, "w2", LEASE, T + timedelta(seconds=70)) == []  # still w1's
    assert len(await queue.claim(1, "w2", LEASE, T + timedelta(seconds=111))) == 1


async def test_a_worker_whose_lease_was_taken_cannot_commit(queue: Queue) -> None:
    store = queue.store
    await queue.enqueue(["a", "b"], T)
    await queue.claim(2, "slow", LEASE, T)
    late = T + LEASE + timedelta(seconds=5)
    await queue.claim(1, "fast", LEASE, late)  # reclaims "a" only
    newer = await store.write([bundle("a", 5, kwh="5")], now=late, fence=queue.fence("fast"))
    assert newer == {"a": Outcome.INSERTED}
    # "slow" wakes up with an even newer document for both: the fence keeps it out entirely
    outcomes = await store.write(
        [bundle("a", 9, kwh="9"), bundle("b", 9)], now=late + timedelta(seconds=1), fence=queue.fence("slow")
    )
    assert outcomes == {}
    async with store.engine.connect() as conn:
        kwh = await conn.scalar(sa.text("SELECT kwh FROM sessions WHERE id = 'a'"))
        sessions = await conn.scalar(sa.text("SELECT count(*) FROM sessions"))
    assert str(kwh) == "5"
    assert sessions == 1
    state = await rows(queue)
    assert state["a"][:2] == ("done", 2)
    assert state["b"] == ("leased", 1, "slow")  # expired: the next claim takes it


async def test_an_expired_lease_cannot_commit_even_before_a_reclaim(queue: Queue) -> None:
    await queue.enqueue(["a"], T)
    await queue.claim(1, "w1", LEASE, T)
    late = T + LEASE + timedelta(seconds=1)
    assert await queue.store.write([bundle("a")], now=late, fence=queue.fence("w1")) == {}
    assert await queue.store.write([bundle("a")], now=T + timedelta(seconds=1), fence=queue.fence("w1")) == {
        "a": Outcome.INSERTED
    }
    assert (await rows(queue))["a"] == ("done", 1, None)


async def test_settle_defers_transient_fails_permanent_and_closes_not_found(queue: Queue) -> None:
    await queue.enqueue(["t1", "t2", "p", "nf"], T)
    await queue.claim(10, "w", LEASE, T)
    failures = [
        Failure("t1", "http_503", "busy", 503, retryable=True),
        Failure("p", "invalid_json", "bad body"),
        Failure("nf", "not_found", "404", 404),
    ]
    deferred = await queue.settle("w", failures, max_attempts=2, now=T)
    assert deferred == ["t1"]
    async with queue.store.engine.connect() as conn:
        result = await conn.execute(
            sa.text("SELECT id, status, available_at, last_error_kind FROM sync_queue")
        )
        state = {r.id: r for r in result}
    assert state["t1"].status == "pending"
    assert state["p"].status == "failed"
    assert state["p"].last_error_kind == "invalid_json"
    assert state["nf"].status == "done"
    assert state["t2"].status == "leased"  # not settled: untouched
    # t1 is not due before its backoff, then fails for good at max_attempts
    assert await queue.claim(10, "w", LEASE, T + timedelta(seconds=1)) == []
    again = await queue.claim(10, "w", LEASE, T + timedelta(hours=2))
    assert [c.id for c in again] == ["t1", "t2"]  # t2's lease expired too
    assert (
        await queue.settle(
            "w", [Failure("t1", "http_503", "busy", 503, retryable=True)], 2, T + timedelta(hours=2)
        )
        == []
    )
    assert (await rows(queue))["t1"][0] == "failed"


async def test_release_gives_ids_back_without_spending_an_attempt(queue: Queue) -> None:
    await queue.enqueue(["a", "b"], T)
    await queue.claim(2, "w", LEASE, T)
    assert await queue.release("w", T) == 2
    assert {v for v in (await rows(queue)).values()} == {("pending", 0, None)}


async def test_status_retry_and_prune(queue: Queue) -> None:
    await queue.enqueue(["a", "b", "c"], T)
    await queue.claim(3, "w", LEASE, T)
    await queue.settle("w", [Failure("a", "http_400", "x"), Failure("b", "invalid_json", "y")], 5, T)
    async with queue.store.engine.begin() as conn:
        await queue.fence("w").complete(conn, ["c"], T)
    now = T + timedelta(minutes=5)
    status = await queue.status(now)
    assert (status["pending"], status["leased"], status["done"], status["failed"]) == (0, 0, 1, 2)
    assert await queue.retry_failed(now, kind="invalid_json") == 1
    status = await queue.status(now)
    assert status["pending"] == 1
    assert status["oldest_pending_age_s"] == 300.0
    assert await queue.prune(T - timedelta(days=1)) == 0
    assert await queue.prune(now) == 1
    assert set(await rows(queue)) == {"a", "b"}


async def test_a_deferred_id_is_not_due_before_the_gateways_retry_after(queue: Queue) -> None:
    await queue.enqueue(["slow", "quick"], T)
    await queue.claim(10, "w", LEASE, T)
    failures = [
        Failure("slow", "http_503", "busy", 503, retryable=True, retry_after=3000.0),  # past any backoff
        Failure("quick", "http_503", "busy", 503, retryable=True),
    ]
    assert sorted(await queue.settle("w", failures, max_attempts=5, now=T)) == ["quick", "slow"]
    async with queue.store.engine.connect() as conn:
        result = await conn.execute(sa.select(QUEUE.c.id, QUEUE.c.available_at))
        due = {r.id: r.available_at for r in result}
    # quick: the backoff after one attempt (15-30 s); slow: its Retry-After, 50 minutes
    assert [c.id for c in await queue.claim(10, "w", LEASE, T + timedelta(seconds=31))] == ["quick"]
    claimed_before = await queue.claim(10, "w", LEASE, T + timedelta(seconds=2999))
    assert "slow" not in [c.id for c in claimed_before]  # (quick's new lease expired: taken again)
    assert "slow" in [c.id for c in await queue.claim(10, "w", LEASE, T + timedelta(seconds=3000))]
    assert due["slow"] - T >= timedelta(seconds=3000)
