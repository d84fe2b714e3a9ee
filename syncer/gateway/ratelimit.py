"""One rate limiter per process, shared by every task, and the `Retry-After` parser.

The limiter is a token bucket charged at the times requests really start: a request may start
when the bucket holds a token, at most `burst` tokens are saved up, and they refill at the
current rate. Waiters queue in call order on a lock and only the one at the head sleeps, so
they leave one by one instead of all waking and racing. Because the bucket is charged when a
request starts, not when a slot was booked, a stalled event loop does not make the waiters
catch up in a burst afterwards: over ANY window of W seconds at most ``burst + rate * W``
requests start, which is how the gateway's own bucket counts them.

Three inputs change the pace (docs/rate-limits.md):

- `pause(seconds)`: a `Retry-After` from a 429 or an envelope 2004 holds every acquirer,
  including those already waiting, until the pause ends (capped at `max_pause`, the
  `--max-retry-after`); then traffic resumes with one request and the current rate, not a burst.
- `slow_down()`: a rate signal (429, 2004, or errors sustained over many responses, see
  `observe`). The first one of an episode remembers the rate at which the gateway said no
  (the *ceiling*: the rate then; while no limit is known yet, the rate the gateway really
  accepted over the last second if that is lower) and drops to `DECREASE` of it
  (`FAST_DECREASE` while the ceiling is only a guess, and then stays there for `MEASURE_S` so
  that the next refusal is measured); the rate then climbs back linearly to `TARGET` of the
  ceiling in `RECOVERY_S`, and from there probes upward, slowly at first (`PROBE_S`), so a
  process set above an unknown limit settles just below it, refused once in a long while
  instead of once a second.
- `set_rate(rate)`: the fleet's share changed (`pipeline/fleet.py`). A higher rate forgets the
  ceiling (the gateway's room for us grew with our share).

A 503 or a timeout slows nothing by itself: the worker retries that id later. Only errors
sustained over many responses (`SUSTAINED_ERRORS` of the recent ones) count as a rate signal.
A pause applies even when the rate is 0 (unlimited); the rate then stays unlimited.

Clock and sleep are injectable so tests run on a fake clock without real waiting.
"""

from __future__ import annotations

import collections
import math
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import anyio

MAX_PAUSE: Final = 3600.0
"""The longest `Retry-After` that can ever be honoured (the `--max-retry-after` upper bound);
each limiter caps its pauses at its own `max_pause`."""

DEFAULT_MAX_PAUSE: Final = 60.0
"""The default cap of a pause (`--max-retry-after`)."""

DECREASE: Final = 0.9
"""After a rate signal, the rate drops to this share of the ceiling when the ceiling was measured."""

FAST_DECREASE: Final = 0.5
"""...and to this share when it was not (refused within a second of starting or resuming):
far above the limit, halving finds it in a few steps."""

TARGET: Final = 0.95
"""The rate climbs back to this share of the ceiling..."""

RECOVERY_S: Final = 1.0
"""...in this many seconds..."""

PROBE_S: Final = 80.0
"""...then above it by ``ceiling * (t / PROBE_S)²`` after t seconds (+0.4 % after 5 s, +1.6 %
after 10 s, +6 % after 20 s, +25 % after 40 s), to find out whether the gateway allows more, up
to the configured rate: slowly near the ceiling, faster away from it (a fluke costs little)."""

MEASURE_S: Final = 1.0
"""The window over which the rate the gateway accepted is counted."""

MIN_ANSWERS: Final = 5
"""Fewer accepted answers than this in the window: the accepted rate is unknown."""

MIN_SHARE: Final = 1 / 16
"""Repeated slow-downs never take the rate below this share of the configured rate."""

ECHO_S: Final = 1.0
"""Rate signals within this long of a slow-down (or during a pause) are echoes of requests
already in flight, not a new episode."""

SUSTAINED_ERRORS: Final = 0.5
"""Errors (5xx, timeouts, connection failures) count as a rate signal when their moving
share of the responses (`ERROR_WEIGHT` each) is above this."""

ERROR_WEIGHT: Final = 0.05
"""The weight of one response in that moving share (about the last 20-40 responses)."""

_SECONDS = re.compile(r"\A-?[0-9]{1,12}(\.[0-9]{1,6})?\Z")


def default_burst(rate: float) -> int:
    """A twentieth of a second's worth of requests, at least one.

    Kept below what gateways usually allow (the sandbox, like many, lets a tenth of a second's
    worth through at once), so that network jitter between here and there is absorbed by the
    gateway's bucket instead of turning into 429s.
    """
    return max(1, int(rate / 20))


def _check_rate(rate: float) -> None:
    if not (math.isfinite(rate) and rate >= 0):
        raise ValueError("rate must be a finite number >= 0 (0 means unlimited)")


class RateLimiter:
    """`rate` requests per second (0 = unlimited) with bursts of up to `burst` requests."""

    def __init__(
        self,
        rate: float,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        max_pause: float = DEFAULT_MAX_PAUSE,
    ) -> None:
        _check_rate(rate)
        if burst is not None and burst < 1:
            raise ValueError("burst must be at least 1")
        if not (math.isfinite(max_pause) and max_pause > 0):
            raise ValueError("max_pause must be a finite number > 0")
        self._rate = rate
        self._fixed_burst = burst
        self._burst = default_burst(rate) if burst is None else burst
        self._max_pause = min(max_pause, MAX_PAUSE)
        self._clock = clock
        self._sleep = sleep
        self._lock = anyio.Lock()
        self._tokens = float(self._burst)
        self._filled_at = -math.inf  # when `_tokens` was counted
        self._paused_until = -math.inf
        self._ceiling: float | None = None  # the rate the gateway last refused
        self._base = rate  # the rate right after the last slow-down...
        self._since = -math.inf  # ...from which it climbs back from this time on
        self._episode_at = -math.inf  # when the last slow-down happened
        self._hold = 0.0  # how long the rate stays down before climbing back
        self._active_since = math.inf  # when requests last started flowing (first start, end of a pause)
        self._accepted: collections.deque[float] = collections.deque()  # answers within MEASURE_S
        self._errors = 0.0  # moving share of error answers
        self.slowdowns = 0
        """How many rate signals started a slow-down (for the run's figures and tests)."""

    @property
    def rate(self) -> float:
        """The configured rate (this process's cap, or its fleet share): the ceiling of the pace."""
        return self._rate

    @property
    def burst(self) -> int:
        return self._burst

    @property
    def max_pause(self) -> float:
        return self._max_pause

    @property
    def paused_until(self) -> float:
        """Clock time before which `acquire` blocks; in the past (or -inf) when not paused."""
        return self._paused_until

    @property
    def ceiling(self) -> float | None:
        """The rate at which the gateway last refused us (None: never, or forgotten)."""
        return self._ceiling

    @property
    def current_rate(self) -> float:
        """The rate in force now: `rate`, or less while recovering from a slow-down."""
        return self._rate_at(self._clock())

    def _rate_at(self, now: float) -> float:
        if self._ceiling is None or not self._rate:
            return self._rate
        elapsed = max(0.0, now - self._since)
        target = min(self._rate, TARGET * self._ceiling)
        if elapsed < RECOVERY_S and self._base < target:
            rate = self._base + (target - self._base) * elapsed / RECOVERY_S
        else:
            probing = max(0.0, elapsed - RECOVERY_S) / PROBE_S
            rate = max(self._base, target) + self._ceiling * probing * probing
        return min(self._rate, rate)

    def set_rate(self, rate: float, burst: int | None = None) -> None:
        """A new configured rate (the fleet share changed); takes effect at once. `burst`: a new
        bucket size (default: the one given when made, else `default_burst` of the new rate)."""
        _check_rate(rate)
        if burst is not None:
            if burst < 1:
                raise ValueError("burst must be at least 1")
            self._fixed_burst = burst
        if rate == self._rate and burst is None:
            return
        if rate > self._rate or not rate:
            self._ceiling = None  # our room at the gateway grew: find the limit again if there is one
        self._rate = rate
        self._base = min(self._base, rate) if rate else rate
        self._burst = default_burst(rate) if self._fixed_burst is None else self._fixed_burst
        self._tokens = min(self._tokens, float(self._burst))

    def pause(self, seconds: float) -> None:
        """Hold all acquirers for `seconds` (capped at `max_pause`); never shortens a pause."""
        if math.isnan(seconds) or seconds <= 0:
            return
        now = self._clock()
        until = now + min(seconds, self._max_pause)
        if until <= self._paused_until:
            return
        self._paused_until = until
        self._active_since = until
        self._accepted.clear()
        if self._rate:
            # One token at the end of the pause: resume at the steady rate, not with a burst.
            self._tokens, self._filled_at = 1.0, until
            if self._ceiling is not None:
                # The climb back starts when the pause ends (a second later after a guess, so
                # that a refusal on the way up is measured, not guessed again).
                self._since = max(self._since, until + self._hold)

    def slow_down(self) -> None:
        """A rate signal: lower the rate, once per episode (see the module)."""
        now = self._clock()
        if not self._rate or now < self._paused_until or now < self._episode_at + ECHO_S:
            return  # unlimited stays unlimited; echoes of one episode slow down once
        current = self._rate_at(now)
        measured = self._accepted_rate(now)
        guessed = self._ceiling is None or self._hold > 0
        if measured is None:  # refused within a second of starting: far above, by a guess
            ceiling, share, self._hold = current, FAST_DECREASE, MEASURE_S
        elif guessed:  # the limit is still unknown: what the gateway really took, if less than we sent
            ceiling, share, self._hold = max(min(current, measured), self._rate * MIN_SHARE), DECREASE, 0.0
        else:  # refused near a limit found before: a little lower (a stall may have bunched requests)
            ceiling, share, self._hold = current, DECREASE, 0.0
        self._ceiling = ceiling
        self._base = max(self._rate * MIN_SHARE, share * ceiling)
        self._episode_at = now
        self._since = now + self._hold
        self._tokens = min(self._tokens, 1.0)
        self._errors = 0.0
        self.slowdowns += 1

    def observe(self, ok: bool) -> None:
        """One answer from the gateway: `ok` unless it was an error (5xx, timeout, I/O; not a
        429, which is `slow_down`'s). Sustained errors slow down; accepted answers are counted
        for the ceiling."""
        now = self._clock()
        if ok:
            self._accepted.append(now)
            while self._accepted and self._accepted[0] < now - MEASURE_S:
                self._accepted.popleft()
        self._errors += ERROR_WEIGHT * ((0.0 if ok else 1.0) - self._errors)
        if not ok and self._errors > SUSTAINED_ERRORS:
            self.slow_down()

    def _accepted_rate(self, now: float) -> float | None:
        """Answers per second over the last `MEASURE_S`, if requests flowed all that time (and
        enough of them were answered to count: else unknown)."""
        if now - self._active_since < MEASURE_S:
            return None
        while self._accepted and self._accepted[0] < now - MEASURE_S:
            self._accepted.popleft()
        if len(self._accepted) < MIN_ANSWERS:
            return None
        return len(self._accepted) / MEASURE_S

    async def acquire(self) -> None:
        """Wait until this task may start one request."""
        if self._active_since == math.inf:
            self._active_since = self._clock()
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


def parse_retry_after(value: str | None, now: datetime, cap: float = MAX_PAUSE) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date).

    Negative or past values give 0, values over `cap` are capped, garbage gives None.
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
    return min(max(seconds, 0.0), cap)
