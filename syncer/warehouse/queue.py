"""The `sync_queue` table: enqueue, claim with leases, heartbeats, fencing, settling, admin.

States: pending ──claim──▶ leased ──commit──▶ done
                    ▲          │ transient failure, attempts left: pending, later available_at
                    │          │ permanent failure or attempts exhausted: failed
                    └─expired lease (any worker reclaims) / release on shutdown─┘

Claims take rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL (workers never block each other
and never take the same row); on SQLite every transaction is `BEGIN IMMEDIATE`, so claims are
single-writer. Each worker run has its own lease token. A worker's commit first re-reads its
rows *locked* and keeps only those still leased to its token and not expired (the fence), so
a worker that stalled past its lease cannot write over a newer claim.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from syncer.outcomes import Failure, FailureKind, QueueStatus
from syncer.warehouse.store import Store, chunks
from syncer.warehouse.tables import QUEUE

Q = QUEUE
BACKOFF_BASE_S = 30.0
BACKOFF_CAP_S = 3600.0


def backoff(attempts: int, rand: float | None = None, base_s: float = BACKOFF_BASE_S) -> timedelta:
    """When a transiently failed id becomes claimable again: exponential in its attempts from
    `base_s` (`--queue-backoff-seconds`), capped at an hour, with jitter in [50%, 100%] so a burst of
    failures spreads out."""
    base = min(BACKOFF_CAP_S, base_s * 2.0 ** max(0, min(attempts - 1, 20)))
    jitter = 0.5 + 0.5 * (random.random() if rand is None else rand)
    return timedelta(seconds=base * jitter)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Backlog:
    """The ids not finished yet: pending (due or deferred) and leased (by any worker)."""

    pending: int
    leased: int
    next_at: datetime | None
    """When the first pending id is (or was) due; None when none is pending."""

    @property
    def left(self) -> int:
        return self.pending + self.leased


@dataclass(frozen=True, slots=True)
class EnqueueCounts:
    added: int
    requeued: int
    already_queued: int

    def __add__(self, other: EnqueueCounts) -> EnqueueCounts:
        return EnqueueCounts(
            self.added + other.added,
            self.requeued + other.requeued,
            self.already_queued + other.already_queued,
        )


class Queue:
    def __init__(self, store: Store, backoff_base_s: float = BACKOFF_BASE_S) -> None:
        self.store = store
        self.dialect = store.dialect
        self.backoff_base_s = backoff_base_s

    def _insert(self) -> postgresql.Insert | sqlite.Insert:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(Q)

    # -- producers --------------------------------------------------------------------------

    async def enqueue(self, ids: Sequence[str], now: datetime) -> EnqueueCounts:
        """Add ids as pending. Pending or leased ids stay as they are; done and failed ones are
        queued again with a fresh attempt count."""
        if not ids:
            return EnqueueCounts(0, 0, 0)
        new = {
            "status": QueueStatus.PENDING,
            "attempts": 0,
            "available_at": now,
            "enqueued_at": now,
            "updated_at": now,
        }
        stmt = self._insert()
        rows: list[dict[str, object]] | None = None
        if self.dialect == "postgresql":
            # The ids as one array, not a row of parameters per id (docs/benchmark.md). DISTINCT: ON
            # CONFLICT may not touch a row twice in one statement. ORDER BY: locks in key order.
            array = sa.bindparam("ids", list(ids), type_=postgresql.ARRAY(sa.Text))
            incoming = sa.select(sa.func.unnest(array).label("id")).distinct().subquery()
            values = [sa.literal(value, Q.c[name].type) for name, value in new.items()]
            source = sa.select(incoming.c.id, *values).order_by(incoming.c.id)
            stmt = stmt.from_select(["id", *new], source)
        else:
            rows = [{"id": i, **new} for i in ids]
        requeue = {
            "status": QueueStatus.PENDING,
            "attempts": 0,
            "available_at": now,
            "leased_until": None,
            "lease_token": None,
            "last_error": None,
            "last_error_kind": None,
            "updated_at": now,
        }
        upsert = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_=requeue,
            where=sa.or_(Q.c.status == QueueStatus.DONE, Q.c.status == QueueStatus.FAILED),
        ).returning(Q.c.id, Q.c.enqueued_at)
        async with self.store.engine.begin() as conn:
            result = (await conn.execute(upsert, rows)).all()
        added = sum(1 for row in result if row.enqueued_at == now)
        return EnqueueCounts(added, len(result) - added, len(ids) - len(result))

    # -- workers ----------------------------------------------------------------------------

    async def claim(self, limit: int, token: str, lease: timedelta, now: datetime) -> list[Claimed]:
        """Lease up to `limit` ids that are due, or whose lease expired (their worker died)."""
        due = sa.or_(
            sa.and_(Q.c.status == QueueStatus.PENDING, Q.c.available_at <= now),
            sa.and_(Q.c.status == QueueStatus.LEASED, Q.c.leased_until < now),
        )
        pick = sa.select(Q.c.id).where(due).order_by(Q.c.available_at, Q.c.id).limit(limit)
        if self.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        stmt = (
            sa.update(Q)
            .where(Q.c.id.in_(pick.scalar_subquery()))
            .values(
                status=QueueStatus.LEASED,
                lease_token=token,
                leased_until=now + lease,
                attempts=Q.c.attempts + 1,
                updated_at=now,
            )
            .returning(Q.c.id, Q.c.attempts)
        )
        async with self.store.engine.begin() as conn:
            rows = (await conn.execute(stmt)).all()
        return sorted((Claimed(r.id, r.attempts) for r in rows), key=lambda c: c.id)

    async def extend(self, token: str, lease: timedelta, now: datetime) -> int:
        """Heartbeat: push out the leases this worker still holds."""
        stmt = (
            sa.update(Q)
            .where(Q.c.lease_token == token, Q.c.status == QueueStatus.LEASED, Q.c.leased_until >= now)
            .values(leased_until=now + lease)
        )
        async with self.store.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount

    async def release(self, token: str, now: datetime) -> int:
        """Shutdown: give back every id still leased to us, as if never claimed."""
        stmt = (
            sa.update(Q)
            .where(Q.c.lease_token == token, Q.c.status == QueueStatus.LEASED)
            .values(
                status=QueueStatus.PENDING,
                lease_token=None,
                leased_until=None,
                updated_at=now,
                attempts=sa.case((Q.c.attempts > 0, Q.c.attempts - 1), else_=0),
            )
        )
        async with self.store.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount

    async def settle(
        self, token: str, failures: Sequence[Failure], max_attempts: int, now: datetime
    ) -> list[str]:
        """Record the fate of ids that did not produce data: not found → done; transient with
        attempts left → pending later, not before its Retry-After (returned, 'deferred');
        otherwise → failed. Fenced: rows no longer leased to us are left alone."""
        deferred: list[str] = []
        async with self.store.engine.begin() as conn:
            owned = await self._owned(conn, token, [f.id for f in failures], now)
            for failure in failures:
                attempts = owned.get(failure.id)
                if attempts is None:
                    continue
                values: dict[str, object] = {
                    "lease_token": None,
                    "leased_until": None,
                    "updated_at": now,
                    "last_error": failure.message[:1000],
                    "last_error_kind": failure.kind,
                }
                if failure.kind == FailureKind.NOT_FOUND:
                    values["status"] = QueueStatus.DONE
                elif failure.retryable and attempts < max_attempts:
                    wait = max(
                        backoff(attempts, base_s=self.backoff_base_s),
                        timedelta(seconds=failure.retry_after or 0.0),
                    )
                    values.update(status=QueueStatus.PENDING, available_at=now + wait)
                    deferred.append(failure.id)
                else:
                    values["status"] = QueueStatus.FAILED
                await conn.execute(sa.update(Q).where(Q.c.id == failure.id).values(**values))
        return deferred

    async def _owned(
        self, conn: AsyncConnection, token: str, ids: Sequence[str], now: datetime
    ) -> dict[str, int]:
        found: dict[str, int] = {}
        for part in chunks(sorted(ids)):
            pick = (
                sa.select(Q.c.id, Q.c.attempts)
                .where(
                    Q.c.id.in_(part),
                    Q.c.lease_token == token,
                    Q.c.status == QueueStatus.LEASED,
                    Q.c.leased_until > now,
                )
                .order_by(Q.c.id)
            )
            if self.dialect == "postgresql":
                pick = pick.with_for_update()
            found.update({row.id: row.attempts for row in await conn.execute(pick)})
        return found

    def fence(self, token: str) -> LeaseFence:
        return LeaseFence(self, token)

    async def backlog(self) -> Backlog:
        """How many ids are pending or leased, and when the first pending one comes due (what a
        drain waits for; the (status, available_at) index answers it)."""
        stmt = (
            sa.select(Q.c.status, sa.func.count(), sa.func.min(Q.c.available_at))
            .where(Q.c.status.in_([QueueStatus.PENDING, QueueStatus.LEASED]))
            .group_by(Q.c.status)
        )
        async with self.store.engine.connect() as conn:
            found = {row[0]: (int(row[1]), row[2]) for row in await conn.execute(stmt)}
        pending, next_at = found.get(QueueStatus.PENDING, (0, None))
        return Backlog(pending, found.get(QueueStatus.LEASED, (0, None))[0], next_at)

    # -- operators --------------------------------------------------------------------------

    async def status(self, now: datetime) -> dict[str, float | int | None]:
        async with self.store.engine.connect() as conn:
            counts: dict[str, int] = dict(
                (await conn.execute(sa.select(Q.c.status, sa.func.count()).group_by(Q.c.status))).all()
            )
            oldest = await conn.scalar(
                sa.select(sa.func.min(Q.c.enqueued_at)).where(Q.c.status == QueueStatus.PENDING)
            )
            due = await conn.scalar(
                sa.select(sa.func.count()).where(Q.c.status == QueueStatus.PENDING, Q.c.available_at <= now)
            )
            expired = await conn.scalar(
                sa.select(sa.func.count()).where(Q.c.status == QueueStatus.LEASED, Q.c.leased_until < now)
            )
        out: dict[str, float | int | None] = {
            name: int(counts.get(name, 0))
            for name in (QueueStatus.PENDING, QueueStatus.LEASED, QueueStatus.DONE, QueueStatus.FAILED)
        }
        out["due"] = int(due or 0)
        out["expired_leases"] = int(expired or 0)
        out["oldest_pending_age_s"] = round((now - oldest).total_seconds(), 1) if oldest else None
        return out

    async def retry_failed(self, now: datetime, kind: str | None = None) -> int:
        where = [Q.c.status == QueueStatus.FAILED]
        if kind:
            where.append(Q.c.last_error_kind == kind)
        stmt = (
            sa.update(Q)
            .where(*where)
            .values(status=QueueStatus.PENDING, attempts=0, available_at=now, updated_at=now)
        )
        async with self.store.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount

    async def prune(self, older_than: datetime) -> int:
        stmt = sa.delete(Q).where(Q.c.status == QueueStatus.DONE, Q.c.updated_at < older_than)
        async with self.store.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount


@dataclass(frozen=True)
class LeaseFence:
    """The `store.Fence` of one worker run: write only what is still leased to `token`."""

    queue: Queue
    token: str

    async def keep(self, conn: AsyncConnection, ids: Sequence[str], now: datetime) -> set[str]:
        return set(await self.queue._owned(conn, self.token, ids, now))

    async def complete(self, conn: AsyncConnection, ids: Sequence[str], now: datetime) -> None:
        for part in chunks(list(ids)):
            await conn.execute(
                sa.update(Q)
                .where(Q.c.id.in_(part), Q.c.lease_token == self.token)
                .values(
                    status=QueueStatus.DONE,
                    lease_token=None,
                    leased_until=None,
                    last_error=None,
                    last_error_kind=None,
                    updated_at=now,
                )
            )
