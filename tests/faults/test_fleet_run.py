"""A run under `--global-rate` on PostgreSQL is a fleet member for its life, over real sockets:
it registers before its first request, holds that request until the others could count it,
paces itself at its share, and leaves the registry when it ends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from syncer.pipeline.fleet import HEARTBEAT_S, HOLD_BEATS
from syncer.sandbox import SandboxConfig, running_sandbox
from syncer.warehouse.store import Store
from syncer.warehouse.tables import WORKERS
from syncer.warehouse.workers import Workers
from tests.faults.harness import listed, read_tables, sandbox_requests, sync


@pytest.mark.slow
async def test_a_run_takes_its_share_of_the_global_rate_and_leaves_the_registry(pg_url: str) -> None:
    async with Store.open(pg_url) as store:
        other = Workers(store, run_id="another-pod")
        assert await other.beat(ttl_s=60) == 1  # a live worker elsewhere: the budget is halved
        ids = [f"fleet-{i:02d}" for i in range(16)]
        async with running_sandbox(SandboxConfig()) as url:
            code = await sync(url, pg_url, listed(ids), rate=0, global_rate=8.0, concurrency=8)
            requests = await sandbox_requests(url)
        assert code == 0
        assert set((await read_tables(pg_url)).sessions) == set(ids)
        times = sorted(float(r["at"]) for r in requests)
        pace = (len(times) - 1) / (times[-1] - times[0])
        assert 2.5 <= pace <= 4.4  # its share: 8 / 2 workers = 4 requests/s, not 8, not unlimited
        async with store.engine.connect() as conn:
            left = (await conn.execute(sa.select(WORKERS.c.worker_id))).scalars().all()
        assert left == [other.worker_id]  # the run left at its end; the other pod is still there
        (run,) = (await read_tables(pg_url)).runs
        assert run["duration_s"] >= HOLD_BEATS * HEARTBEAT_S * 0.9  # held until counted
