"""The `sync_queue` table as a `Source`: claim batches, keep leases alive, settle, release.

One lease token per run fences this run's writes: the warehouse writes an id only while this
run still holds its lease, and marks it done in the same transaction (`fence`). Failures are
settled in the queue: not found → done, transient with attempts left → pending again later
(deferred), otherwise → failed. At the end every id still leased is given back.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import anyio

from syncer.clock import now
from syncer.gateway.retry import RetryPolicy
from syncer.observe.logs import get_logger
from syncer.outcomes import Failure, FailureKind, RunSource
from syncer.sources.base import SourceId
from syncer.warehouse.queue import LeaseFence, Queue

log = get_logger("syncer.queue")

QUICK_TRIES = 3
"""Tries of a transient error within one claim: a dropped keep-alive connection, a blip. Past
that the id goes back to the queue with a backoff instead of holding its lease while it waits."""


@dataclass
class QueueSource:
    queue: Queue
    lease: timedelta
    max_attempts: int
    claim_size: int
    limit: int | None = None
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    claimed: int = 0
    name: RunSource = RunSource.QUEUE

    @property
    def fence(self) -> LeaseFence:
        return self.queue.fence(self.token)

    async def ids(self, stop: anyio.Event) -> AsyncIterator[SourceId]:
        """Claim due ids a batch at a time until none is due (burst mode), `stop`, or `limit`.
        An id whose lease expired more than `max_attempts` times (its workers keep dying) comes
        rejected, and fails without another fetch."""
        while not stop.is_set():
            size = self.claim_size if self.limit is None else min(self.claim_size, self.limit - self.claimed)
            if size <= 0:
                return
            batch = await self.queue.claim(size, self.token, self.lease, now())
            if not batch:
                return
            self.claimed += len(batch)
            for item in batch:
                if item.attempts <= self.max_attempts:
                    yield SourceId(item.id)
                else:
                    message = "lease expired on every attempt"
                    yield SourceId(
                        item.id, rejected=Failure(item.id, FailureKind.ATTEMPTS_EXHAUSTED, message)
                    )

    def retry_policy(self, max_attempts: int) -> RetryPolicy:
        return RetryPolicy(max_attempts=QUICK_TRIES, cap=5.0)

    async def background(self) -> None:
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
