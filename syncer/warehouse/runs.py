"""Run history: the live `sync_runs` row (identity, counts, heartbeat), the runs whose process
died, recent runs, failures grouped by kind, the queue's lag and the last successful run.

`Store.start_run`/`finish_run` open and close a row; this module writes it while the run lives
and answers `syncer runs`, `syncer failures` and `queue status`.

A run writes `heartbeat_at` when it starts and (the run heartbeat) while it lives. A `running`
row whose last sign of life, `coalesce(heartbeat_at, started_at)`, is older than
`ABANDON_AFTER` belonged to a process that was killed (SIGKILL, OOM, node lost) or lost its
database for good: `mark_abandoned` sets it `abandoned`, with `finished_at` at that last sign
of life. Every run does it when it starts, and so does `syncer queue status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.outcomes import QueueStatus, RunStatus, RunSummary
from syncer.warehouse.store import Store
from syncer.warehouse.tables import FAILURES, QUEUE, RUNS

ABANDON_AFTER = timedelta(minutes=10)
"""Ten heartbeats missed (they come at most a minute apart)."""


async def mark_abandoned(engine: AsyncEngine, now: datetime) -> list[str]:
    """Mark the runs whose heartbeat is long gone `abandoned`; their run ids."""
    last_seen = sa.func.coalesce(RUNS.c.heartbeat_at, RUNS.c.started_at)
    statement = (
        sa.update(RUNS)
        .where(RUNS.c.status == RunStatus.RUNNING, last_seen < now - ABANDON_AFTER)
        .values(status=RunStatus.ABANDONED, finished_at=last_seen)
        .returning(RUNS.c.run_id)
    )
    async with engine.begin() as conn:
        return sorted((await conn.execute(statement)).scalars().all())


_LIVE_COUNTS = (
    "requested",
    "fetched",
    "inserted",
    "updated",
    "unchanged",
    "stale",
    "not_found",
    "failed",
    "deferred",
    "lease_lost",
    "retries",
)


def _utc(value: datetime | None) -> datetime | None:
    """SQLite gives naive timestamps back: they were written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


async def mark_started(
    store: Store, run_id: str, *, syncer_version: str, gateway_url: str | None, at: datetime
) -> None:
    """Who ran it against what, and the first heartbeat."""
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.update(RUNS)
            .where(RUNS.c.run_id == run_id)
            .values(syncer_version=syncer_version, gateway_url=gateway_url, heartbeat_at=at)
        )


async def heartbeat(
    store: Store, run_id: str, summary: RunSummary, *, at: datetime, duration_s: float
) -> bool:
    """The counts so far and a fresh `heartbeat_at`, on the row while it is still `running`
    (a row already finished, or marked abandoned, is left alone); True when written."""
    counts = {name: getattr(summary, name) for name in _LIVE_COUNTS}
    rate = round(summary.fetched / duration_s, 1) if duration_s > 0 else 0.0
    async with store.engine.begin() as conn:
        result = await conn.execute(
            sa.update(RUNS)
            .where(RUNS.c.run_id == run_id, RUNS.c.status == RunStatus.RUNNING)
            .values(heartbeat_at=at, duration_s=round(duration_s, 3), sessions_per_s=rate, **counts)
        )
    return bool(result.rowcount)


@dataclass(frozen=True)
class QueueLag:
    due: int
    """Pending ids whose `available_at` has come."""
    deferred: int
    """Pending ids waiting out a backoff (`available_at` in the future)."""
    oldest_due_age_s: float | None
    """Seconds the oldest due id has been due (since its `available_at`)."""


async def queue_lag(store: Store, now: datetime) -> QueueLag:
    Q = QUEUE
    pending = Q.c.status == QueueStatus.PENDING
    async with store.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(
                    sa.func.count().filter(Q.c.available_at <= now),
                    sa.func.count().filter(Q.c.available_at > now),
                    sa.func.min(Q.c.available_at).filter(Q.c.available_at <= now),
                ).where(pending)
            )
        ).one()
    oldest = _utc(row[2])
    age = round((now - oldest).total_seconds(), 1) if oldest is not None else None
    return QueueLag(due=row[0] or 0, deferred=row[1] or 0, oldest_due_age_s=age)


async def last_success(store: Store) -> datetime | None:
    """When the last run that ended `ok` finished."""
    async with store.engine.connect() as conn:
        value = await conn.scalar(
            sa.select(sa.func.max(RUNS.c.finished_at)).where(RUNS.c.status == RunStatus.OK)
        )
    return _utc(value)


async def recent_runs(store: Store, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` runs, newest first, as plain dicts (column name → value)."""
    async with store.engine.connect() as conn:
        result = await conn.execute(
            sa.select(RUNS).order_by(RUNS.c.started_at.desc(), RUNS.c.run_id).limit(limit)
        )
        rows = [dict(row._mapping) for row in result]
    for row in rows:
        for key in ("started_at", "finished_at", "heartbeat_at"):
            row[key] = _utc(row[key])
    return rows


async def failures_by_kind(store: Store, *, run_id: str | None, kind: str | None) -> list[dict[str, Any]]:
    """Recorded failures grouped by kind, most frequent first: how many rows and distinct ids,
    how many runs, the last time, and one example (the newest id and message)."""
    where = []
    if run_id is not None:
        where.append(FAILURES.c.run_id == run_id)
    if kind is not None:
        where.append(FAILURES.c.kind == kind)
    F = FAILURES
    async with store.engine.connect() as conn:
        groups = (
            await conn.execute(
                sa.select(
                    F.c.kind,
                    sa.func.count().label("failures"),
                    sa.func.count(sa.distinct(F.c.id)).label("ids"),
                    sa.func.count(sa.distinct(F.c.run_id)).label("runs"),
                    sa.func.max(F.c.at).label("last_at"),
                    sa.func.max(F.c.pk).label("last_pk"),
                )
                .where(*where)
                .group_by(F.c.kind)
                .order_by(sa.func.count().desc(), F.c.kind)
            )
        ).all()
        examples = {}
        if groups:
            result = await conn.execute(
                sa.select(F.c.pk, F.c.id, F.c.http_status, F.c.message).where(
                    F.c.pk.in_([g.last_pk for g in groups])
                )
            )
            examples = {row.pk: row for row in result}
    out = []
    for group in groups:
        example = examples[group.last_pk]
        out.append(
            {
                "kind": group.kind,
                "failures": group.failures,
                "ids": group.ids,
                "runs": group.runs,
                "last_at": _utc(group.last_at),
                "example_id": example.id,
                "http_status": example.http_status,
                "message": example.message,
            }
        )
    return out
