"""What a source adds to a write: checks and records inside the write's own transaction.

The queue's leases are one (`queue.LeaseFence`): only ids still leased to this run are written,
and their queue rows are marked done in the same transaction. Only a protocol here, so a source
can name it without importing a database library.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection


class Fence(Protocol):
    """What the queue adds to a write: lease checks and `done`, inside the same transaction."""

    async def keep(self, conn: AsyncConnection, ids: Sequence[str], now: datetime) -> set[str]:
        """The ids whose lease this worker still holds (their queue rows locked until commit)."""
        ...

    async def complete(self, conn: AsyncConnection, ids: Sequence[str], now: datetime) -> None:
        """Mark these ids done."""
        ...
