"""The end of a run (its failures settled, its leases given back, its `sync_runs` row), bounded
whatever the database does.

Each step is shielded from the run's cancellation. Normally a step gets twice `--db-timeout`.
Once the database has failed, or a signal came (a pod's termination grace is running out), the
steps are tried once each, all within `END_BUDGET_S`; a step the database could not take is
logged (`run.end_incomplete`) and makes the run exit 2: its row may stay `running` (a later run
marks it `abandoned`), its leases expire on their own.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio

from syncer.errors import DatabaseLost
from syncer.observe.logs import get_logger
from syncer.pipeline.db_guard import DbGuard
from syncer.warehouse.database import redact_url
from syncer.warehouse.faults import classify, describe

END_BUDGET_S = 4.0
"""Seconds for the whole end of a run once the database has failed or a signal came."""
log = get_logger("syncer.pipeline.run")


@dataclass
class RunEnd:
    guard: DbGuard
    db_timeout: float
    deadline: float | None = None
    incomplete: str | None = None
    """Why a step could not reach the database (the first one)."""

    async def step(self, name: str, action: Callable[[], Awaitable[None]], *, signalled: bool) -> None:
        guard = self.guard
        if guard.lost is not None or guard.down_since is not None or signalled:
            guard.lost, guard.retry_seconds = None, 0.0  # one try, no retry window
            if self.deadline is None:
                self.deadline = time.monotonic() + END_BUDGET_S
            budget = max(0.0, self.deadline - time.monotonic())
        else:
            budget = max(END_BUDGET_S, 2 * self.db_timeout)
        with anyio.move_on_after(budget, shield=True) as scope:
            try:
                await action()
            except DatabaseLost as error:
                self._incomplete(name, str(error))
                return
            except Exception as error:
                if classify(error) is None:
                    raise
                self._incomplete(name, describe(error, guard.url))
                return
        if scope.cancelled_caught:
            self._incomplete(name, f"no answer from {redact_url(guard.url)} in {budget:.0f} s")

    def _incomplete(self, name: str, message: str) -> None:
        log.warning("run.end_incomplete", step=name, message=message)
        self.incomplete = self.incomplete or message
