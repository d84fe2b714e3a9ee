"""Memory bounded by bytes, not by count: the documents between the fetch and the write stages.

The stages' queues bound how many documents are in flight, but one document can be 5 MB, and
parsed into rows (80,000 charging periods: a tuple, a datetime and a Decimal each) it costs
several times its size. So each body is weighed (`cost`: its size times `COST_FACTOR`) and
holds that much of a `ByteBudget` from before it is requested until its batch is committed:

    fetch:  acquire(the estimate) -> GET -> take(the rest, once the size is known) -> parse
            -> hand the bundle and its ticket to the writers
    write:  a batch is committed early once it weighs its share of the budget; then released

The estimate is the dearest of the last bodies received (the whole budget before the first:
the first request goes alone, so a run of huge documents never starts 32 of them at once).
`acquire` waits, first come first served, while the budget is spent, and only before a request
(never inside its deadline); a single document dearer than the whole budget still goes alone.
`take` never waits: it covers what a body weighs beyond the estimate, so no fetcher ever waits
while holding part of the budget (which could deadlock them all).
"""

from __future__ import annotations

from collections import deque
from typing import Final

import anyio

COST_FACTOR: Final = 20
"""Bytes of memory a body costs per byte received, until its batch is committed. Measured on
documents of 80,000 charging periods: the rows kept cost ~5 times the body, but parsing and
writing one briefly take ~40 times (~145 MB for 3.4 MB), so two such documents must not be in
flight at once under the default budget."""
RECENT: Final = 8
"""Bodies remembered for the estimate."""
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
        self._waiters: deque[_Waiter] = deque()
        self._recent: deque[int] = deque(maxlen=RECENT)

    def estimate(self) -> int:
        """What the next body will probably cost: the dearest of the last `RECENT`."""
        return max(self._recent) if self._recent else self.capacity

    def received(self, cost: int) -> None:
        self._recent.append(cost)

    async def acquire(self, n: int, *, estimated: bool = False) -> int:
        """Wait until `n` bytes (at most the capacity) are free and hold them; returns the
        amount held, to be given back with `release`. `estimated`: `n` is the estimate, and
        while this waits it asks for no more than the estimate of the moment (which falls once
        the first bodies are seen)."""
        n = max(0, min(n, self.capacity))
        if not self._waiters and self.used + n <= self.capacity:
            self._hold(n)
            await anyio.lowlevel.checkpoint()
            return n
        entry = _Waiter(n, estimated)
        self._waiters.append(entry)
        try:
            await entry.event.wait()
        except BaseException:
            if entry in self._waiters:
                self._waiters.remove(entry)
            else:  # granted while being cancelled: give it back
                self.release(entry.n)
            raise
        return entry.n

    def take(self, n: int) -> int:
        """Hold `n` more bytes now, over the capacity if need be (see the module docstring)."""
        n = max(0, n)
        self._hold(n)
        return n

    def release(self, n: int) -> None:
        self.used -= n
        while self._waiters:
            first = self._waiters[0]
            if first.estimated:
                first.n = min(first.n, self.estimate())
            if self.used + first.n > self.capacity:
                return
            self._waiters.popleft()
            self._hold(first.n)
            first.event.set()

    def _hold(self, n: int) -> None:
        self.used += n
        self.peak = max(self.peak, self.used)


class _Waiter:
    __slots__ = ("estimated", "event", "n")

    def __init__(self, n: int, estimated: bool) -> None:
        self.n = n
        self.estimated = estimated
        self.event = anyio.Event()


class Ticket:
    """What one id holds of the budget, from its request until its batch is committed."""

    __slots__ = ("budget", "held")

    def __init__(self, budget: ByteBudget) -> None:
        self.budget = budget
        self.held = 0

    async def start(self) -> None:
        """Before a request: wait for the budget the body will probably need."""
        self.held += await self.budget.acquire(self.budget.estimate() - self.held, estimated=True)
        excess = self.held - self.budget.estimate()  # it may have fallen while this one waited
        if excess > 0:
            self.budget.release(excess)
            self.held -= excess

    def settle(self, size: int) -> None:
        """Once the body is read: `size` bytes received. Takes what it costs beyond the
        estimate, gives back what the estimate held beyond its cost."""
        needed = cost(size)
        self.budget.received(needed)
        if needed >= self.held:
            self.held += self.budget.take(needed - self.held)
        else:
            self.budget.release(self.held - needed)
            self.held = needed

    def release(self) -> int:
        held, self.held = self.held, 0
        self.budget.release(held)
        return held
