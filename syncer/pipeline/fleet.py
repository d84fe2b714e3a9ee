"""The fleet budget: every worker on one database shares `--global-rate` (docs/rate-limits.md).

    share = global_rate / live workers        (never above this process's --rate, if set)

A worker joins the registry (`warehouse/workers.py`) before its first request and beats every
`HEARTBEAT_S`; each beat renews its row, drops workers whose rows expired (`TTL_BEATS` beats
without news: a crashed worker's share returns within `TTL_BEATS + 1` beats), counts the
live ones and sets the limiter to the new share. A worker that joins holds its requests for
`HOLD_BEATS` beats first, so that the others have counted it (and lowered their rates) before
it takes its share: the fleet stays under the budget while it grows. A clean exit leaves the
registry at once.

On SQLite (one process at a time) or without `--global-rate` there is no registry: the share
is `--rate`, or `min(--rate, --global-rate)`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Final

import anyio
import sqlalchemy as sa

from syncer.gateway.ratelimit import RateLimiter, default_burst
from syncer.gateway.retry import RetryPolicy
from syncer.observe.logs import get_logger
from syncer.outcomes import Failure, RunSource
from syncer.sources.base import Source, SourceId
from syncer.warehouse.fence import Fence
from syncer.warehouse.workers import Workers

HEARTBEAT_S: Final = 2.0
"""Seconds between a worker's heartbeats (and share updates)."""
TTL_BEATS: Final = 2.0
"""A worker not heard of for this many heartbeats is gone; its share returns to the others."""
HOLD_BEATS: Final = 1.25
"""A joining worker starts its requests after this many heartbeats (the others count it first)."""

MIN_BURST: Final = 2
"""The smallest bucket of a fleet member (`fleet_burst`)."""

log = get_logger("syncer.fleet")


def fair_share(global_rate: float | None, workers: int, local_rate: float) -> float:
    """This worker's requests per second: an equal part of `global_rate` among `workers`,
    capped by `local_rate` (0 = no cap of its own). Without a global rate: `local_rate`."""
    if global_rate is None:
        return local_rate
    share = global_rate / max(1, workers)
    return min(share, local_rate) if local_rate else share


def fleet_burst(share: float) -> int:
    """A member's bucket: a twentieth of a second of its share, as alone, but at least
    `MIN_BURST` requests. With a bucket of one, a process woken late by a busy scheduler loses
    its slot instead of catching up, and a share of 25/s ran ~12% under it on a loaded machine
    (docs/benchmark.md). The fleet's buckets add up: N members of 2 stay under what gateways
    allow at once (commonly a tenth of a second's worth) while shares are 20/s or more."""
    return max(MIN_BURST, default_burst(share))


@dataclass
class Fleet:
    """One worker's membership: joins, beats and sets its limiter's rate; leaves."""

    limiter: RateLimiter
    global_rate: float
    local_rate: float
    workers: Workers
    interval: float = HEARTBEAT_S
    live: int = 0

    async def join(self) -> None:
        """Register, take the share, and hold requests until the others have counted us."""
        await self._beat()
        self.limiter.pause(self.interval * HOLD_BEATS)
        log.info("fleet.joined", worker_id=self.workers.worker_id, workers=self.live, rate=self.limiter.rate)

    async def run(self) -> None:
        """Beat for the life of the run (cancelled at its end)."""
        while True:
            await anyio.sleep(self.interval)
            try:
                await self._beat()
            except (OSError, sa.exc.OperationalError, sa.exc.InterfaceError) as error:
                # The share stays as it was; the writes will find out whether the database is gone.
                log.warning("fleet.heartbeat_failed", error=type(error).__name__)

    async def _beat(self) -> None:
        live = await self.workers.beat(self.interval * TTL_BEATS)
        if live != self.live:
            if self.live:
                log.info("fleet.changed", workers=live, was=self.live)
            self.live = live
        share = fair_share(self.global_rate, live, self.local_rate)
        self.limiter.set_rate(share, burst=fleet_burst(share))

    async def leave(self) -> None:
        try:
            await self.workers.leave()
        except (OSError, sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            log.warning("fleet.leave_failed", error=type(error).__name__)  # the row expires anyway


@dataclass
class InFleet:
    """A `Source` whose run is also a fleet member: it beats beside the source's own background
    work and leaves the registry when the source releases what it holds."""

    source: Source
    fleet: Fleet

    @property
    def name(self) -> RunSource:
        return self.source.name

    @property
    def fence(self) -> Fence | None:
        return self.source.fence

    def ids(self, stop: anyio.Event) -> AsyncIterator[SourceId]:
        return self.source.ids(stop)

    def retry_policy(self, max_attempts: int) -> RetryPolicy:
        return self.source.retry_policy(max_attempts)

    async def settle(self, failures: Sequence[Failure]) -> set[str]:
        return await self.source.settle(failures)

    async def background(self) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.fleet.run)
            await self.source.background()

    async def release(self) -> None:
        try:
            await self.source.release()
        finally:
            await self.fleet.leave()
