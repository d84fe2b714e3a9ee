"""Run bookkeeping that outlives a run: finding the runs whose process died.

A run writes `heartbeat_at` when it starts and (the run heartbeat) while it lives. A `running`
row whose last sign of life, `coalesce(heartbeat_at, started_at)`, is older than
`ABANDON_AFTER` belonged to a process that was killed (SIGKILL, OOM, node lost) or lost its
database for good: `mark_abandoned` sets it `abandoned`, with `finished_at` at that last sign
of life. Every run does it when it starts, and so does `syncer queue status`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.outcomes import RunStatus
from syncer.warehouse.tables import RUNS

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
