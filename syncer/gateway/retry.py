"""Pure retry policy: given how many attempts were made and the error, wait how long (or give up).

Capped exponential backoff with full jitter, never shorter than the gateway's own
``Retry-After`` (carried as `TransientError.delay`, honoured up to `MAX_RETRY_AFTER`).

Tests turn the waiting off, like stamina's ``set_testing``::

    retry.set_testing(True)   # every delay becomes 0; max_attempts still applies
    ...
    retry.set_testing(False)
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from syncer.errors import TransientError

MAX_RETRY_AFTER: Final = 3600.0
"""The longest gateway Retry-After ever honoured, in seconds: a guard; the client has already
capped `TransientError.delay` at `--max-retry-after` (default 60)."""


@dataclass
class _Mode:
    testing: bool = False


_MODE = _Mode()


def set_testing(on: bool) -> None:
    """Switch test mode: while on, `delay_for` returns 0 (attempts are still counted)."""
    _MODE.testing = on


def is_testing() -> bool:
    """Whether `set_testing(True)` is in force."""
    return _MODE.testing


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` counts the first try; `base` and `cap` are seconds."""

    max_attempts: int = 5
    base: float = 0.5
    cap: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not (math.isfinite(self.base) and self.base >= 0):
            raise ValueError("base must be a finite number >= 0")
        if not (math.isfinite(self.cap) and self.cap >= 0):
            raise ValueError("cap must be a finite number >= 0")


def delay_for(
    policy: RetryPolicy,
    attempt: int,
    error: TransientError,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before the next attempt, or None to give up.

    `attempt` is 1-based: the number of attempts already made (so 1 after the first failure).
    """
    if attempt >= policy.max_attempts:
        return None
    if _MODE.testing:
        return 0.0
    # Clamp the exponent: 2.0 ** 1100 overflows, and the cap is long reached by then.
    exponent = min(max(attempt, 1) - 1, 64)
    backoff = rand() * min(policy.cap, policy.base * 2.0**exponent)
    retry_after = error.delay
    if retry_after is None or math.isnan(retry_after):
        return backoff
    return max(backoff, min(max(retry_after, 0.0), MAX_RETRY_AFTER))
