"""Retry policy: capped exponential backoff, full jitter, Retry-After as a floor, give-up point."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from syncer.errors import TransientError
from syncer.gateway import retry
from syncer.gateway.retry import MAX_RETRY_AFTER, RetryPolicy, delay_for


def top() -> float:
    """The largest jitter draw (random.random never returns 1.0; close enough for the bound)."""
    return 1.0


def error(delay: float | None = None) -> TransientError:
    return TransientError("boom", kind="http_503", http_status=503, delay=delay)


@pytest.fixture(autouse=True)
def real_backoff() -> Iterator[None]:
    """These tests measure real delays, so undo the suite-wide `set_testing(True)` here."""
    before = retry.is_testing()
    retry.set_testing(False)
    try:
        yield
    finally:
        retry.set_testing(before)


def test_defaults() -> None:
    assert RetryPolicy() == RetryPolicy(max_attempts=5, base=0.5, cap=30.0)


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (7, 30.0), (9, 30.0)],
)
def test_exponential_ceiling_then_cap(attempt: int, expected: float) -> None:
    policy = RetryPolicy(max_attempts=10, base=0.5, cap=30.0)
    assert delay_for(policy, attempt, error(), rand=top) == expected


def test_full_jitter_scales_the_ceiling() -> None:
    policy = RetryPolicy(max_attempts=10)
    assert delay_for(policy, 3, error(), rand=lambda: 0.25) == 0.5
    assert delay_for(policy, 3, error(), rand=lambda: 0.0) == 0.0


def test_default_rand_stays_within_bounds() -> None:
    policy = RetryPolicy(max_attempts=10)
    delays = [delay_for(policy, 4, error()) for _ in range(200)]
    assert all(d is not None and 0.0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 1  # actually jittered


def test_gives_up_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert delay_for(policy, 2, error(), rand=top) is not None
    assert delay_for(policy, 3, error(), rand=top) is None
    assert delay_for(policy, 4, error(), rand=top) is None


def test_single_attempt_never_retries() -> None:
    assert delay_for(RetryPolicy(max_attempts=1), 1, error(delay=1.0)) is None


def test_retry_after_is_a_floor() -> None:
    policy = RetryPolicy(max_attempts=10)
    assert delay_for(policy, 1, error(delay=12.0), rand=top) == 12.0
    # backoff larger than Retry-After wins
    assert delay_for(policy, 8, error(delay=2.0), rand=top) == 30.0


def test_retry_after_may_exceed_the_backoff_cap_up_to_its_own_limit() -> None:
    policy = RetryPolicy(max_attempts=10, cap=30.0)
    assert delay_for(policy, 1, error(delay=120.0), rand=top) == 120.0
    assert delay_for(policy, 1, error(delay=10_000.0), rand=top) == MAX_RETRY_AFTER
    assert MAX_RETRY_AFTER == 3600.0  # a guard: the client caps at --max-retry-after


def test_negative_or_nan_retry_after_is_ignored() -> None:
    policy = RetryPolicy(max_attempts=10)
    assert delay_for(policy, 1, error(delay=-5.0), rand=lambda: 0.5) == 0.25
    assert delay_for(policy, 1, error(delay=float("nan")), rand=lambda: 0.5) == 0.25


def test_huge_attempt_numbers_do_not_overflow() -> None:
    policy = RetryPolicy(max_attempts=10_000)
    assert delay_for(policy, 5_000, error(), rand=top) == 30.0


def test_attempt_below_one_is_treated_as_the_first() -> None:
    assert delay_for(RetryPolicy(), 0, error(), rand=top) == 0.5


def test_testing_mode_zeroes_delays_but_still_gives_up() -> None:
    policy = RetryPolicy(max_attempts=3)
    retry.set_testing(True)
    assert retry.is_testing()
    assert delay_for(policy, 1, error(delay=200.0), rand=top) == 0.0
    assert delay_for(policy, 2, error(), rand=top) == 0.0
    assert delay_for(policy, 3, error(), rand=top) is None
    retry.set_testing(False)
    assert not retry.is_testing()
    assert delay_for(policy, 1, error(delay=200.0), rand=top) == 200.0


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"base": -1.0}, {"cap": -1.0}, {"base": float("inf")}, {"cap": float("nan")}],
)
def test_invalid_policy_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_is_frozen() -> None:
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        policy.max_attempts = 9  # type: ignore[misc]
