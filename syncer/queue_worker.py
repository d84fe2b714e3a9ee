"""The queue as a worker source: claim batches, keep leases alive, settle, release.

`Run` (worker.py) drives it through four hooks: `ids()` feeds the pipeline, `fence` guards
every commit, `settle()` decides the fate of ids that produced no data, `release()` hands
back what is still leased at the end. One lease token per run fences this run's writes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import anyio

from syncer.clock import now
from syncer.logs import get_logger
from syncer.queue_store import LeaseFence, Queue
from syncer.sources import SourceId
from syncer.summary import Failure

log = get_logger("syncer.queue")


@dataclass
class QueueLease:
    queue: Queue
    lease: timedelta
    max_attempts: int
    claim_size: int
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    claimed: int = 0

    @property
    def fence(self) -> LeaseFence:
        return self.queue.fence(self.token)

    async def ids(self, stop: anyio.Event, limit: int | None) -> AsyncIterator[SourceId]:
        """Claim due ids a batch at a time until none is due (burst mode), `stop`, or `limit`.
        An id whose lease expired more than `max_attempts` times (its workers keep dying) is
        handed on flagged, and fails without another fetch."""
        while not stop.is_set():
            size = self.claim_size if limit is None else min(self.claim_size, limit - self.claimed)
            if size <= 0:
                return
            batch = await self.queue.claim(size, self.token, self.lease, now())
            if not batch:
                return
            self.claimed += len(batch)
            for item in batch:
                yield SourceId(item.id, valid=item.attempts <= self.max_attempts)

    async def heartbeat(self) -> None:
        """Extend our leases every third of the lease, for as long as the run lives."""
        interval = max(0.2, self.lease.total_seconds() / 3)
        while True:
            await anyio.sleep(interval)
            await self.queue.extend(self.token, self.lease, now())

    async def settle(self, failures: Sequence[Failure]) -> set[str]:
        """Write the queue state of failed ids; returns those deferred to a later attempt."""
        if not failures:
            return set()
        return set(await self.queue.settle(self.token, failures, self.max_attempts, now()))

    async def release(self) -> None:
        released = await self.queue.release(self.token, now())
        if released:
            log.info("queue.released", ids=released)
