"""One rate limiter per process, shared by every task, and the `Retry-After` parser.

The limiter is a token bucket scheduled the GCRA way ("virtual scheduling"): each `acquire`
reserves the next free start time and sleeps once until it, so waiters leave one by one in
call order instead of all waking and racing. Over any window of W seconds at most
``burst + rate * W`` requests start.

`pause(seconds)` (the gateway sent 429, or 503 with Retry-After) holds every acquirer, including
those already waiting, until the pause ends. The bucket restarts empty, so traffic resumes at
the steady rate rather than with a burst. A pause applies even when the rate is 0 (unlimited).

Clock and sleep are injectable so tests run on a fake clock without real waiting.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import anyio

MAX_PAUSE: Final = 300.0
"""The longest pause (and the longest Retry-After) honoured, in seconds."""

_SECONDS = re.compile(r"\A-?[0-9]{1,12}(\.[0-9]{1,6})?\Z")


def default_burst(rate: float) -> int:
    """A tenth of a second's worth of requests, at least one."""
    return max(1, int(rate / 10))


class RateLimiter:
    """`rate` requests per second (0 = unlimited) with bursts of up to `burst` requests."""

    def __init__(
        self,
        rate: float,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if not (math.isfinite(rate) and rate >= 0):
            raise ValueError("rate must be a finite number >= 0 (0 means unlimited)")
        if burst is None:
            burst = default_burst(rate)
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._tolerance = (burst - 1) * self._interval
        self._tat = -math.inf  # "theoretical arrival time": when the next request is due
        self._paused_until = -math.inf

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def burst(self) -> int:
        return self._burst

    @property
    def paused_until(self) -> float:
        """Clock time before which `acquire` blocks; in the past (or -inf) when not paused."""
        return self._paused_until

    def pause(self, seconds: float) -> None:
        """Hold all acquirers for `seconds` (capped at `MAX_PAUSE`); never shortens a pause."""
        if math.isnan(seconds) or seconds <= 0:
            return
        until = self._clock() + min(seconds, MAX_PAUSE)
        if until > self._paused_until:
            self._paused_until = until
            # Empty bucket at the end of the pause: resume at the steady rate, not with a burst.
            if self._interval:
                self._tat = max(self._tat, until + self._tolerance)

    async def acquire(self) -> None:
        """Wait until this task may start one request."""
        while True:
            now = self._clock()
            if now < self._paused_until:
                await self._sleep(self._paused_until - now)
                continue
            if not self._interval:
                return
            tat = max(self._tat, now)
            start = tat - self._tolerance
            self._tat = reserved = tat + self._interval
            if start <= now:
                return
            try:
                await self._sleep(start - now)
            except BaseException:
                if self._tat == reserved:  # nobody queued behind us: give the slot back
                    self._tat = tat
                raise
            if self._clock() >= self._paused_until:
                return
            # A pause began while we slept: our slot is void, queue again after the pause.


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date).

    Negative or past values give 0, values over `MAX_PAUSE` are capped, garbage gives None.
    A naive `now` (or date) is taken as UTC.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _SECONDS.match(text):
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_PAUSE)
