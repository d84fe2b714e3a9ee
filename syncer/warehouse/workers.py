"""The `sync_workers` table: the registry of live workers sharing one gateway budget.

Each worker (one `syncer run` process; each `--processes` child is one) beats every few
seconds (`beat`): its row's `expires_at` moves `ttl_s` ahead, rows that expired (their worker
died: SIGKILL, a lost node) are removed, and the number of live workers comes back, from which
the worker takes its share of `--global-rate` (`pipeline/fleet.py`). A clean exit removes its
row at once (`leave`). Times are the database's clock, so the pods' clocks do not matter.

PostgreSQL only: on SQLite one process runs at a time, and the fleet is that process.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field

from syncer.warehouse.sql_files import query
from syncer.warehouse.store import Store


@dataclass
class Workers:
    """One worker's handle on the registry."""

    store: Store
    run_id: str | None = None
    worker_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)

    def __post_init__(self) -> None:
        if self.store.dialect != "postgresql":
            raise ValueError("the worker registry needs PostgreSQL (on SQLite one process runs at a time)")

    async def beat(self, ttl_s: float) -> int:
        """Join or renew for `ttl_s` seconds, drop expired workers; the live workers, self included."""
        params = {
            "worker_id": self.worker_id,
            "run_id": self.run_id,
            "host": self.host[:255],
            "pid": self.pid,
            "ttl_s": float(ttl_s),
        }
        async with self.store.engine.begin() as conn:
            live = await conn.scalar(query("queries/workers_beat"), params)
        return max(1, int(live or 1))

    async def leave(self) -> None:
        """Give the share back now (a clean exit), not when the row expires."""
        async with self.store.engine.begin() as conn:
            await conn.execute(query("queries/workers_leave"), {"worker_id": self.worker_id})
