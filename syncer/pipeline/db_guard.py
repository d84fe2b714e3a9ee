"""The run's side of database faults: retry a lost database for a bounded time, then stop.

Every database call of a run goes through `DbGuard.call`. An error that is one id's (a document
the database refuses) passes through to the caller, which isolates the id. An error that is the
run's (`warehouse.faults`) never becomes per-id failures:

- the connection is lost (cut, refused, timed out, server restarting): the call is tried again
  every second or so, while the database has been down for less than `--db-retry-seconds`
  (one window for the whole run: concurrent writers share it); past that, or once a signal
  asked the run to stop (its grace is short), `DatabaseLost` ends the run (exit 2);
- the server refuses this role or database (privileges revoked, read-only, disk full):
  `DatabaseLost` at once.

A write that failed was rolled back (one transaction per batch), so trying it again is safe; a
commit whose acknowledgement was lost is found already written (`unchanged`) the second time.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn, TypeVar

import anyio

from syncer.errors import DatabaseLost
from syncer.observe.logs import get_logger
from syncer.warehouse.faults import DbFault, classify, describe

T = TypeVar("T")
log = get_logger("syncer.pipeline.db")
RETRY_PAUSE_S = (0.25, 0.5, 1.0, 2.0)


@dataclass
class DbGuard:
    url: str
    retry_seconds: float
    stopping: Callable[[], bool] = lambda: False
    down_since: float | None = None
    lost: DatabaseLost | None = None
    """Set once the run has given up on the database (the end of the run keeps its cleanup short)."""

    tries: int = 0

    async def call(self, action: Callable[[], Awaitable[T]]) -> T:
        """`action()`'s result, trying it again while the database is lost (within the window)."""
        while True:
            if self.lost is not None:
                raise self.lost
            try:
                result = await action()
            except Exception as error:
                await self.wait(error)
                continue
            self.ok()
            return result

    def ok(self) -> None:
        """The database answered."""
        if self.down_since is not None:
            log.info("database.back", down_s=round(time.monotonic() - self.down_since, 1))
        self.down_since, self.tries = None, 0

    async def wait(self, error: Exception) -> None:
        """After `error`: re-raise it (not a database fault), give up (`DatabaseLost`), or
        pause before the caller tries again."""
        fault = classify(error)
        if fault is None:
            raise error
        message = describe(error, self.url)
        if fault == DbFault.REFUSED:
            self._give_up(f"the database refused the run: {message}")
        clock = time.monotonic()
        if self.down_since is None:
            self.down_since = clock
            log.warning("database.lost", message=message, retry_s=self.retry_seconds)
        down = clock - self.down_since
        if self.stopping():
            self._give_up(f"lost the database while stopping: {message}")
        if down >= self.retry_seconds:
            self._give_up(f"lost the database for {down:.0f} s (--db-retry-seconds): {message}")
        pause = RETRY_PAUSE_S[min(self.tries, len(RETRY_PAUSE_S) - 1)]
        self.tries += 1
        await anyio.sleep(min(pause, max(0.05, self.retry_seconds - down)))

    def _give_up(self, message: str) -> NoReturn:
        self.lost = DatabaseLost(message)
        raise self.lost
