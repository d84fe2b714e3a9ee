"""The shared rate limiter on a virtual clock (no real waiting), and Retry-After parsing."""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import anyio
import anyio.lowlevel
import pytest

from syncer.gateway.ratelimit import (
    DECREASE,
    DEFAULT_MAX_PAUSE,
    FAST_DECREASE,
    MAX_PAUSE,
    MEASURE_S,
    MIN_SHARE,
    PROBE_S,
    RECOVERY_S,
    TARGET,
    RateLimiter,
    default_burst,
    parse_retry_after,
)
from syncer.pipeline.fleet import fair_share, fleet_burst


class VirtualTime:
    """A fake clock for many tasks: sleepers are woken in time order once every task is blocked."""

    def __init__(self, oversleep: list[float] | None = None) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.oversleep = list(oversleep or [])
        """Extra seconds the next sleeps last (an event loop busy elsewhere wakes sleepers late)."""
        self._waiters: list[tuple[float, int, anyio.Event]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        event = anyio.Event()
        late = self.oversleep.pop(0) if self.oversleep else 0.0
        heapq.heappush(self._waiters, (self.now + max(seconds, 0.0) + late, next(self._seq), event))
        await event.wait()

    def limiter(self, rate: float, burst: int | None = None) -> RateLimiter:
        return RateLimiter(rate, burst, clock=self.clock, sleep=self.sleep)

    async def run(self, *tasks: Callable[[], Awaitable[None]]) -> None:
        finished = 0

        async def wrapped(task: Callable[[], Awaitable[None]]) -> None:
            nonlocal finished
            await task()
            finished += 1

        async with anyio.create_task_group() as group:
            for task in tasks:
                group.start_soon(wrapped, task)
            while True:
                for _ in range(20):  # let every runnable task reach its next sleep
                    await anyio.lowlevel.checkpoint()
                if finished == len(tasks):
                    return
                assert self._waiters, "deadlock: tasks blocked with no sleeper to wake"
                when, _, event = heapq.heappop(self._waiters)
                self.now = max(self.now, when)
                event.set()


def acquirers(
    limiter: RateLimiter, vt: VirtualTime, n: int, log: list[float]
) -> list[Callable[[], Awaitable[None]]]:
    async def one() -> None:
        await limiter.acquire()
        log.append(vt.now)

    return [one] * n


@pytest.mark.parametrize(("n", "rate", "burst"), [(10, 5.0, 1), (25, 10.0, 5), (100, 50.0, 10), (3, 1.0, 5)])
async def test_sequential_acquires_take_n_minus_burst_over_rate(n: int, rate: float, burst: int) -> None:
    vt = VirtualTime()
    limiter = vt.limiter(rate, burst)

    async def loop() -> None:
        for _ in range(n):
            await limiter.acquire()

    await vt.run(loop)
    assert vt.now == pytest.approx(max(0, n - burst) / rate)


async def test_concurrent_waiters_leave_one_by_one_without_stampede() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(10.0, burst=1)
    log: list[float] = []
    await vt.run(*acquirers(limiter, vt, 10, log))
    assert log == pytest.approx([i / 10 for i in range(10)])
    assert len(vt.sleeps) == 9  # each waiter slept exactly once: no wake-all-and-retry


async def test_rate_holds_over_every_window() -> None:
    vt = VirtualTime()
    rate, burst = 20.0, 3
    limiter = vt.limiter(rate, burst)
    log: list[float] = []
    await vt.run(*acquirers(limiter, vt, 200, log))
    assert len(log) == 200
    assert_rate_holds(log, rate, burst)
    assert log[-1] == pytest.approx((200 - burst) / rate)  # and nothing slower than the rate


async def test_idle_limiter_refills_its_burst() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(10.0, burst=3)
    log: list[float] = []
    await vt.run(*acquirers(limiter, vt, 3, log))
    vt.now = 100.0
    await vt.run(*acquirers(limiter, vt, 3, log))
    assert log == [0.0, 0.0, 0.0, 100.0, 100.0, 100.0]


def assert_rate_holds(log: list[float], rate: float, burst: int) -> None:
    """Over every window W starting at a request, at most burst + rate * W requests started."""
    for i, start in enumerate(log):
        for window in (0.05, 0.1, 0.5, 1.0, 2.5):
            in_window = sum(1 for t in log[i:] if t < start + window - 1e-9)
            assert in_window <= burst + rate * window + 1e-6, (start, window, in_window)


async def test_a_late_wake_up_does_not_turn_into_a_catch_up_burst() -> None:
    # The head waiter wakes 0.5 s late (a busy event loop): the others must not all go at once
    # when it does, which a limiter that books slots in advance would let them do.
    vt = VirtualTime(oversleep=[0.5])
    rate, burst = 10.0, 2
    limiter = vt.limiter(rate, burst)
    log: list[float] = []
    await vt.run(*acquirers(limiter, vt, 12, log))
    # the first sleeper woke at 0.6 instead of 0.1: it and one more go (the bucket refilled to
    # its burst meanwhile), then one every 0.1 s; the five "missed" slots are never caught up
    assert log == pytest.approx([0.0, 0.0, 0.6, 0.6] + [0.7 + i / 10 for i in range(8)])
    assert_rate_holds(log, rate, burst)


async def test_pause_blocks_every_acquirer_then_resumes_without_burst_at_the_same_rate() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(10.0, burst=5)
    limiter.pause(2.0)  # a pause alone (a Retry-After) does not slow down: slow_down() does
    assert limiter.paused_until == 2.0
    assert limiter.current_rate == 10.0
    log: list[float] = []
    await vt.run(*acquirers(limiter, vt, 4, log))
    assert log == pytest.approx([2.0, 2.1, 2.2, 2.3])  # one at 2.0, then the steady rate, no burst


async def test_a_refusal_far_above_the_limit_halves_then_climbs_back_to_just_under_it() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(100.0)
    limiter.slow_down()  # refused at once: the ceiling is only a guess (the rate then)
    limiter.pause(1.0)
    assert (limiter.slowdowns, limiter.ceiling) == (1, 100.0)
    vt.now = 1.0
    assert limiter.current_rate == FAST_DECREASE * 100.0
    vt.now = 1.0 + MEASURE_S  # stays there a second (a refusal now would be measured)...
    assert limiter.current_rate == FAST_DECREASE * 100.0
    climb = 1.0 + MEASURE_S  # ...then climbs back
    vt.now = climb + RECOVERY_S / 2
    assert limiter.current_rate == pytest.approx((FAST_DECREASE + TARGET) / 2 * 100.0)
    vt.now = climb + RECOVERY_S
    assert limiter.current_rate == pytest.approx(TARGET * 100.0)
    vt.now = climb + RECOVERY_S + 5.0  # then probes upward slowly...
    assert limiter.current_rate == pytest.approx(TARGET * 100.0 + 100.0 * (5.0 / PROBE_S) ** 2)
    vt.now = 1000.0  # ...never above the configured rate
    assert limiter.current_rate == 100.0


async def test_the_ceiling_is_the_rate_the_gateway_accepted_over_the_last_second() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(150.0)
    await limiter.acquire()  # requests start flowing at 0
    for k in range(100):  # 50 answers/s accepted for two seconds
        vt.now = k / 50
        limiter.observe(ok=True)
    vt.now = 2.0
    limiter.slow_down()
    assert limiter.ceiling == pytest.approx(50.0, abs=1.0)  # not the 150 it was sending at
    assert limiter.current_rate == pytest.approx(DECREASE * limiter.ceiling)


async def test_echoes_of_one_refusal_slow_down_once_a_new_refusal_again() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(80.0)
    limiter.slow_down()
    limiter.pause(1.0)
    vt.now = 0.01
    limiter.slow_down()  # requests already in flight answered 429 too: the same episode
    limiter.pause(2.0)
    assert (limiter.slowdowns, limiter.paused_until) == (1, 2.01)
    vt.now = 2.01
    assert limiter.current_rate == 40.0  # recovery starts when the longest pause ends
    limiter.slow_down()  # refused again after the pause: a new episode
    assert limiter.slowdowns == 2
    assert limiter.current_rate == 20.0


async def test_slow_downs_stop_at_a_floor() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(32.0)
    for _ in range(20):
        limiter.slow_down()
        limiter.pause(1.0)
        vt.now = limiter.paused_until
    assert limiter.slowdowns == 20
    assert limiter.current_rate == 32.0 * MIN_SHARE


async def test_occasional_errors_do_not_slow_down_sustained_errors_do() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(20.0)
    for k in range(2000):  # one answer in five is a 503 (or a timeout): that id's business
        vt.now = k / 20
        limiter.observe(ok=k % 5 != 0)
    assert (limiter.slowdowns, limiter.current_rate) == (0, 20.0)
    for k in range(2000, 2030):  # then the gateway fails most requests: a rate signal
        vt.now = k / 20
        limiter.observe(ok=k % 5 == 0)
    assert limiter.slowdowns >= 1
    assert limiter.current_rate < 20.0
    assert limiter.paused_until == -math.inf  # no pause: errors carry no Retry-After for all


async def test_set_rate_takes_effect_at_once_and_a_higher_rate_forgets_the_ceiling() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(100.0)
    limiter.set_rate(25.0)  # four workers share the budget now
    assert (limiter.rate, limiter.current_rate, limiter.burst) == (25.0, 25.0, 1)
    log: list[float] = []
    await vt.run(*acquirers(limiter, vt, 5, log))
    assert [b - a for a, b in itertools.pairwise(log)] == pytest.approx([0.04] * 4)
    vt.now = 10.0
    limiter.slow_down()
    assert limiter.ceiling == 25.0
    limiter.set_rate(20.0)  # lower: what the gateway told us still holds
    assert limiter.ceiling == 25.0
    limiter.set_rate(50.0)  # two of them left: their share is ours, the old refusal is stale
    assert limiter.ceiling is None
    assert limiter.current_rate == 50.0
    with pytest.raises(ValueError, match="rate"):
        limiter.set_rate(-1.0)


async def test_pause_during_a_wait_holds_tasks_already_sleeping() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(1.0, burst=1)
    log: list[float] = []

    async def pauser() -> None:
        await vt.sleep(0.5)
        limiter.slow_down()
        limiter.pause(10.0)  # tasks waiting for 1 s, 2 s, 3 s must not go before 10.5

    await vt.run(pauser, *acquirers(limiter, vt, 4, log))
    assert log[0] == 0.0
    assert log[1] == 10.5
    assert log[2] == pytest.approx(12.5)  # half the rate right after the pause
    assert 1 / TARGET - 0.05 <= log[3] - log[2] < 2.0  # climbing back to just under the ceiling


async def test_pause_applies_even_when_unlimited() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(0)
    limiter.pause(3.0)
    log: list[float] = []
    await vt.run(*acquirers(limiter, vt, 5, log))
    assert log == [3.0] * 5
    assert (limiter.current_rate, limiter.slowdowns) == (0, 0)  # unlimited stays unlimited


async def test_unlimited_returns_at_once() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(0)

    async def loop() -> None:
        for _ in range(1000):
            await limiter.acquire()

    await vt.run(loop)
    assert vt.sleeps == []
    assert vt.now == 0.0


def test_pause_is_capped_by_max_pause() -> None:
    vt = VirtualTime()
    vt.now = 50.0
    limiter = vt.limiter(5.0)
    limiter.pause(10_000.0)
    assert limiter.paused_until == 50.0 + DEFAULT_MAX_PAUSE == 110.0  # --max-retry-after's default
    capped = RateLimiter(5.0, clock=vt.clock, max_pause=7.0)
    capped.pause(10_000.0)
    assert capped.paused_until == 57.0


def test_later_pause_extends_and_earlier_one_does_not_shorten() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(5.0)
    limiter.pause(10.0)
    limiter.pause(30.0)
    assert limiter.paused_until == 30.0
    limiter.pause(5.0)
    assert limiter.paused_until == 30.0
    vt.now = 28.0
    limiter.pause(5.0)
    assert limiter.paused_until == 33.0


@pytest.mark.parametrize("seconds", [0.0, -5.0, math.nan])
def test_meaningless_pause_is_ignored(seconds: float) -> None:
    limiter = VirtualTime().limiter(5.0)
    limiter.pause(seconds)
    assert limiter.paused_until == -math.inf


async def test_cancelled_waiter_gives_its_slot_back() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(1.0, burst=1)
    await limiter.acquire()  # takes the t=0 slot
    async with anyio.create_task_group() as group:
        group.start_soon(limiter.acquire)  # reserves t=1 and sleeps
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        group.cancel_scope.cancel()
    log: list[float] = []
    vt.now = 0.0
    await vt.run(*acquirers(limiter, vt, 1, log))
    assert log == [1.0]  # the cancelled reservation did not push us to t=2


def test_default_burst_is_a_twentieth_of_a_second() -> None:
    assert default_burst(0) == 1
    assert default_burst(5) == 1
    assert default_burst(50) == 2  # the sandbox at 50/s lets 5 through at once: room for jitter
    assert default_burst(100) == 5
    assert RateLimiter(250).burst == 12


@pytest.mark.parametrize(
    ("rate", "burst", "match"),
    [(-1.0, None, "rate"), (math.inf, None, "rate"), (math.nan, None, "rate"), (10.0, 0, "burst")],
)
def test_invalid_settings_rejected(rate: float, burst: int | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RateLimiter(rate, burst)


async def test_real_clock_and_sleep_by_default() -> None:
    limiter = RateLimiter(100.0, burst=1)
    started = time.monotonic()
    for _ in range(6):
        await limiter.acquire()
    elapsed = time.monotonic() - started
    assert 0.045 <= elapsed < 1.0


NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def http_date(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-5", 0.0),  # negative: retry now
        ("100000", MAX_PAUSE),  # capped
        (http_date(NOW + timedelta(seconds=90)), 90.0),
        (http_date(NOW - timedelta(hours=1)), 0.0),  # in the past
        (http_date(NOW + timedelta(days=2)), MAX_PAUSE),
        ("Wed, 01 Jan 2025 12:01:00 -0000", 60.0),  # "-0000": no zone information; taken as UTC
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("1e3", None),
        ("Wed, 99 Jan 2025 12:00:00 GMT", None),
        ("12 seconds", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_with_naive_now() -> None:
    naive = NOW.replace(tzinfo=None)
    assert parse_retry_after(http_date(NOW + timedelta(seconds=30)), naive) == 30.0


@pytest.mark.parametrize(
    ("global_rate", "workers", "local_rate", "share"),
    [
        (None, 3, 20.0, 20.0),  # no fleet budget: --rate alone
        (None, 1, 0.0, 0.0),  # ...unlimited stays unlimited
        (100.0, 1, 0.0, 100.0),  # alone: the whole budget
        (100.0, 4, 0.0, 25.0),
        (100.0, 4, 20.0, 20.0),  # --rate stays a per-process cap
        (100.0, 3, 50.0, 100 / 3),
        (100.0, 0, 0.0, 100.0),  # never divides by zero
    ],
)
def test_fair_share(global_rate: float | None, workers: int, local_rate: float, share: float) -> None:
    assert fair_share(global_rate, workers, local_rate) == pytest.approx(share)


def test_a_fleet_members_bucket_is_at_least_two_and_set_rate_can_change_it() -> None:
    assert [fleet_burst(share) for share in (5.0, 25.0, 50.0, 100.0)] == [2, 2, 2, 5]
    limiter = RateLimiter(100.0)
    assert limiter.burst == 5
    limiter.set_rate(25.0, burst=fleet_burst(25.0))
    assert (limiter.rate, limiter.burst) == (25.0, 2)
    limiter.set_rate(30.0)  # the bucket given stays
    assert limiter.burst == 2
    with pytest.raises(ValueError, match="burst"):
        limiter.set_rate(30.0, burst=0)
