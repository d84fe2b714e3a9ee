"""The `sync_queue` table as a `Source`: claim batches, keep leases alive, settle, release.

One lease token per run fences this run's writes: the warehouse writes an id only while this
run still holds its lease, and marks it done in the same transaction (`fence`). Failures are
settled in the queue: not found → done, transient with attempts left → pending again later
(deferred), otherwise → failed. At the end every id still leased is given back.

Burst mode (the default) ends when nothing is due. A drain (`--until-empty`) waits instead:
while ids are pending or leased (by any worker: a lease may expire and its ids come back), it
sleeps until the next one comes due, at most `DRAIN_WAIT_MAX_S` at a time, and claims again;
it ends when nothing is pending or leased, or at `stop` (which wakes it at once).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

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
DRAIN_WAIT_MAX_S = 30.0
"""A drain looks at the queue again at least this often, whatever it expects."""
DRAIN_POLL_LEASED_S = 2.0
"""While ids are leased (this run's in flight may come back deferred; another worker's lease may
expire), a drain looks again this often."""
DRAIN_WAIT_MIN_S = 0.1
"""A due id the claim did not get (locked by another worker's claim): look again this soon."""


@dataclass
class QueueSource:
    queue: Queue
    lease: timedelta
    max_attempts: int
    claim_size: int
    limit: int | None = None
    until_empty: bool = False
    """Drain: when nothing is due, wait for deferred and leased ids instead of ending."""
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    claimed: int = 0
    name: RunSource = RunSource.QUEUE
    _told: tuple[int, datetime | None] | None = None

    @property
    def fence(self) -> LeaseFence:
        return self.queue.fence(self.token)

    async def ids(self, stop: anyio.Event) -> AsyncIterator[SourceId]:
        """Claim due ids a batch at a time until none is due (burst mode) or none is pending or
        leased (`until_empty`), `stop`, or `limit`. An id whose lease expired more than
        `max_attempts` times (its workers keep dying) comes rejected, and fails without another
        fetch."""
        while not stop.is_set():
            size = self.claim_size if self.limit is None else min(self.claim_size, self.limit - self.claimed)
            if size <= 0:
                return
            batch = await self.queue.claim(size, self.token, self.lease, now())
            if not batch:
                if self.until_empty and await self._wait_for_more(stop):
                    continue
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

    async def _wait_for_more(self, stop: anyio.Event) -> bool:
        """Nothing due: False when nothing is pending or leased either; else sleep until the next
        id may be due (or `stop`) and return True."""
        backlog = await self.queue.backlog()
        if backlog.left == 0:
            return False
        wait = DRAIN_WAIT_MAX_S
        if backlog.next_at is not None:
            wait = min(wait, (backlog.next_at - now()).total_seconds())
        if backlog.leased:
            wait = min(wait, DRAIN_POLL_LEASED_S)
        wait = max(DRAIN_WAIT_MIN_S, wait)
        if self._told != (backlog.pending, backlog.next_at):  # once per deferral, not per poll
            self._told = (backlog.pending, backlog.next_at)
            due_in = None if backlog.next_at is None else round((backlog.next_at - now()).total_seconds(), 1)
            log.info("queue.waiting", pending=backlog.pending, leased=backlog.leased, next_due_in_s=due_in)
        with anyio.move_on_after(wait):
            await stop.wait()
        return not stop.is_set()

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

    async def release(self) -> int:
        """Give our leases back; returns the ids left in the queue (pending or leased)."""
        released = await self.queue.release(self.token, now())
        if released:
            log.info("queue.released", ids=released)
        return (await self.queue.backlog()).left
