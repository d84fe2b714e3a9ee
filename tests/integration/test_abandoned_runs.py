"""A `running` row whose heartbeat is long gone is marked `abandoned`; live and finished runs
are left alone (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from syncer.outcomes import RunStatus
from syncer.warehouse.runs import ABANDON_AFTER, mark_abandoned
from syncer.warehouse.store import Store
from syncer.warehouse.tables import RUNS

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - ABANDON_AFTER - timedelta(minutes=1)
RECENTLY = NOW - ABANDON_AFTER + timedelta(minutes=1)


async def test_only_runs_whose_heartbeat_is_long_gone_are_abandoned(database_url: str) -> None:
    rows = [
        ("dead", RunStatus.RUNNING, LONG_AGO, LONG_AGO),
        ("dead-no-heartbeat", RunStatus.RUNNING, LONG_AGO, None),
        ("long-but-alive", RunStatus.RUNNING, LONG_AGO, RECENTLY),
        ("young", RunStatus.RUNNING, RECENTLY, None),
        ("finished", RunStatus.OK, LONG_AGO, LONG_AGO),
    ]
    async with Store.open(database_url) as store:
        async with store.engine.begin() as conn:
            await conn.execute(
                sa.insert(RUNS),
                [
                    {"run_id": r, "source": "file", "status": s, "started_at": st, "heartbeat_at": hb}
                    for r, s, st, hb in rows
                ],
            )
        assert await mark_abandoned(store.engine, NOW) == ["dead", "dead-no-heartbeat"]
        assert await mark_abandoned(store.engine, NOW) == []
        async with store.engine.connect() as conn:
            result = await conn.execute(sa.select(RUNS.c.run_id, RUNS.c.status, RUNS.c.finished_at))
            got = {row.run_id: (row.status, row.finished_at) for row in result}
    assert got["dead"] == (RunStatus.ABANDONED, LONG_AGO)  # finished at its last sign of life
    assert got["dead-no-heartbeat"] == (RunStatus.ABANDONED, LONG_AGO)
    assert {got[r][0] for r in ("long-but-alive", "young")} == {RunStatus.RUNNING}
    assert got["finished"][0] == RunStatus.OK
