"""One rate limiter per process, shared by every task, and the `Retry-After` parser.

The limiter is a token bucket charged at the times requests really start: a request may start
when the bucket holds a token, at most `burst` tokens are saved up, and they refill at the
current rate. Waiters queue in call order on a lock and only the one at the head sleeps, so
they leave one by one instead of all waking and racing. Because the bucket is charged when a
request starts, not when a slot was booked, a stalled event loop does not make the waiters
catch up in a burst afterwards: over ANY window of W seconds at most ``burst + rate * W``
requests start, which is how the gateway's own bucket counts them.

`pause(seconds)` (the gateway sent 429, 503 with Retry-After, or an envelope 2004) holds every
acquirer, including those already waiting, until the pause ends; then traffic resumes with one
request and the steady rate, not with a burst. The first pause of an episode (one that starts
while no pause is in force) also halves the rate, which then climbs back linearly
(`RECOVERY_S`): additive increase, multiplicative decrease, as TCP does. So a process set above
what the gateway allows converges on it with a few 429s instead of a few per pause, and pods
sharing one gateway budget settle on fair shares. A pause applies even when the rate is 0
(unlimited); the rate then stays unlimited.

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

RECOVERY_S: Final = 20.0
"""After a slow-down the rate climbs by ``rate / RECOVERY_S`` per second: from half back to
full in 10 s."""

MIN_SHARE: Final = 1 / 16
"""Repeated slow-downs never take the rate below this share of the configured rate."""

_SECONDS = re.compile(r"\A-?[0-9]{1,12}(\.[0-9]{1,6})?\Z")


def default_burst(rate: float) -> int:
    """A twentieth of a second's worth of requests, at least one.

    Kept below what gateways usually allow (the sandbox, like many, lets a tenth of a second's
    worth through at once), so that network jitter between here and there is absorbed by the
    gateway's bucket instead of turning into 429s.
    """
    return max(1, int(rate / 20))


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
        self._lock = anyio.Lock()
        self._tokens = float(burst)
        self._filled_at = -math.inf  # when `_tokens` was counted
        self._paused_until = -math.inf
        self._slow_rate = rate  # the rate right after the last slow-down...
        self._slow_since = -math.inf  # ...from which it climbs back from this time on
        self.slowdowns = 0
        """How many times a pause halved the rate (for the run's figures and tests)."""

    @property
    def rate(self) -> float:
        """The configured rate: the ceiling the current rate climbs back to."""
        return self._rate

    @property
    def burst(self) -> int:
        return self._burst

    @property
    def paused_until(self) -> float:
        """Clock time before which `acquire` blocks; in the past (or -inf) when not paused."""
        return self._paused_until

    @property
    def current_rate(self) -> float:
        """The rate in force now: `rate`, or less while recovering from a slow-down."""
        return self._rate_at(self._clock())

    def _rate_at(self, now: float) -> float:
        if self._slow_rate >= self._rate:
            return self._rate
        climbed = self._slow_rate + self._rate * max(0.0, now - self._slow_since) / RECOVERY_S
        return min(self._rate, climbed)

    def pause(self, seconds: float) -> None:
        """Hold all acquirers for `seconds` (capped at `MAX_PAUSE`); never shortens a pause.

        The first pause while none is in force also halves the current rate (see the module)."""
        if math.isnan(seconds) or seconds <= 0:
            return
        now = self._clock()
        until = now + min(seconds, MAX_PAUSE)
        if until <= self._paused_until:
            return
        if self._rate:
            if now >= self._paused_until:  # a new episode, not an echo of requests in flight
                self._slow_rate = max(self._rate * MIN_SHARE, self._rate_at(now) / 2)
                self.slowdowns += 1
            self._slow_since = until
            # One token at the end of the pause: resume at the steady rate, not with a burst.
            self._tokens, self._filled_at = 1.0, until
        self._paused_until = until

    async def acquire(self) -> None:
        """Wait until this task may start one request."""
        if not self._rate and self._clock() >= self._paused_until:
            return
        async with self._lock:  # FIFO: the head of the queue decides, the others wait their turn
            while True:
                now = self._clock()
                if now < self._paused_until:
                    await self._sleep(self._paused_until - now)
                    continue
                if not self._rate:
                    return
                rate = self._rate_at(now)
                if now > self._filled_at:
                    self._tokens = min(self._burst, self._tokens + (now - self._filled_at) * rate)
                    self._filled_at = now
                if self._tokens >= 1 - 1e-9:  # (a float hair short after sleeping exactly enough)
                    self._tokens = max(0.0, self._tokens - 1)
                    return
                await self._sleep((1 - self._tokens) / rate)  # then look again: a pause may have begun


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
