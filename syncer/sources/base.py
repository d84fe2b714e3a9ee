"""The one interface of an id source, and the item it yields."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import anyio

from syncer.gateway.retry import RetryPolicy
from syncer.outcomes import Failure, RunSource
from syncer.warehouse.fence import Fence


@dataclass(frozen=True, slots=True)
class SourceId:
    id: str
    line: int = 0
    """Where a file source read it (1-based), for messages; 0 elsewhere."""
    rejected: Failure | None = None
    """Why this id is not to be fetched: an invalid id, a queue row whose attempts ran out."""

    @property
    def valid(self) -> bool:
        return self.rejected is None


class Source(Protocol):
    @property
    def name(self) -> RunSource: ...

    @property
    def fence(self) -> Fence | None:
        """Checked and recorded inside each write's transaction (the queue's leases), or None."""
        ...

    def ids(self, stop: anyio.Event) -> AsyncIterator[SourceId]:
        """The ids to sync, lazily, until there are no more or `stop` is set."""
        ...

    def retry_policy(self, max_attempts: int) -> RetryPolicy:
        """How many times the fetch stage tries one id before it becomes a failure."""
        ...

    async def settle(self, failures: Sequence[Failure]) -> set[str]:
        """Record where the source keeps them what became of ids that produced no data;
        the ids deferred to a later attempt (not failed for good)."""
        ...

    async def background(self) -> None:
        """Work for the life of the run (cancelled at its end), e.g. lease heartbeats."""
        ...

    async def release(self) -> int | None:
        """Give back what the run still holds (at the end, also after an error); returns how many
        ids the source still has for later runs (the queue's pending and leased), or None."""
        ...
