"""Memory bounded by bytes, not by count: the documents between the fetch and the write stages.

The stages' queues bound how many documents are in flight, but one document can be 5 MB, and
parsed into rows (80,000 charging periods: a tuple, a datetime and a Decimal each) it costs
several times its size. So each body is weighed (`cost`: its size times `COST_FACTOR`) and
holds that much of a `ByteBudget` from before it is read until its batch is committed:

    fetch:  reserve(Content-Length x factor)  -> read -> take(the rest, once the size is known)
            -> parse -> hand the bundle and its cost to the writers
    write:  a batch is committed early once it weighs its share of the budget; then its cost is released

`acquire` waits (first come, first served) while the budget is spent; a single document dearer
than the whole budget still goes through alone. `take` never waits: it covers what a body
turned out to weigh beyond its reservation (no Content-Length, a compressed body), so that no
fetcher ever waits while holding part of the budget (which could deadlock them all).
"""

from __future__ import annotations

from collections import deque
from typing import Final

import anyio

COST_FACTOR: Final = 8
"""Bytes of memory a body costs per byte received, until its batch is committed: the body,
its parsed rows (measured at ~5 times the body for an 80,000-period document) and the raw text."""
MB: Final = 1024 * 1024
UNBOUNDED: Final = 1 << 62
"""The capacity of a budget that never waits (library use without one)."""


def cost(size: int) -> int:
    """What a body of `size` bytes costs while it is in flight."""
    return size * COST_FACTOR


class ByteBudget:
    """A semaphore counted in bytes (single event loop; not thread-safe)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1 byte")
        self.capacity = capacity
        self.used = 0
        self.peak = 0
        self._waiters: deque[tuple[int, anyio.Event]] = deque()

    async def acquire(self, n: int) -> int:
        """Wait until `n` bytes (at most the capacity) are free and hold them; returns the
        amount held, to be given back with `release`."""
        n = max(0, min(n, self.capacity))
        if not self._waiters and self.used + n <= self.capacity:
            self._hold(n)
            await anyio.lowlevel.checkpoint()
            return n
        entry = (n, anyio.Event())
        self._waiters.append(entry)
        try:
            await entry[1].wait()
        except BaseException:
            if entry in self._waiters:
                self._waiters.remove(entry)
            else:  # granted while being cancelled: give it back
                self.release(n)
            raise
        return n

    def take(self, n: int) -> int:
        """Hold `n` more bytes now, over the capacity if need be (see the module docstring)."""
        n = max(0, n)
        self._hold(n)
        return n

    def release(self, n: int) -> None:
        self.used -= n
        while self._waiters and self.used + self._waiters[0][0] <= self.capacity:
            m, event = self._waiters.popleft()
            self._hold(m)
            event.set()

    def _hold(self, n: int) -> None:
        self.used += n
        self.peak = max(self.peak, self.used)


class Ticket:
    """What one id holds of the budget, from its request until its batch is committed."""

    __slots__ = ("budget", "held")

    def __init__(self, budget: ByteBudget) -> None:
        self.budget = budget
        self.held = 0

    async def reserve(self, size: int) -> None:
        """Before a body of `size` bytes (its Content-Length) is read."""
        self.held += await self.budget.acquire(cost(size))

    def settle(self, size: int) -> None:
        """Once the body is read: `size` bytes received (taken beyond the reservation)."""
        self.held += self.budget.take(cost(size) - self.held)

    def release(self) -> int:
        held, self.held = self.held, 0
        self.budget.release(held)
        return held
