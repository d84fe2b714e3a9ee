"""The sandbox gateway's knobs: one frozen value, checked once when it is made."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["SandboxConfig"]


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """How the simulated gateway behaves.

    Every fault is deterministic for a given ``seed``: which ids are malformed depends on the id
    alone, and the 503 decisions come from a seeded random stream (so a retry can succeed).
    """

    prefix: str = "/api/v1"
    """Base path in front of ``/sessions/{id}``; ``""`` or ``/segment[/segment...]``."""
    latency_ms: float = 0
    """Delay added to every session request (asynchronous sleep)."""
    latency_jitter_ms: float = 0
    """The delay varies uniformly by up to this much either side (never below zero)."""
    rate_limit: float = 0
    """Requests per second allowed across all clients; 0 = unlimited. Beyond it: HTTP 429."""
    rate_limit_burst: float = 0
    """Requests the rate limit lets through at once (its bucket size); 0 = a tenth of a second's
    worth, at least 1."""
    retry_after_s: int = 1
    """The ``Retry-After`` sent with a 429, in seconds."""
    retry_after_date: bool = False
    """Send ``Retry-After`` as an HTTP date (rounded up to a whole second) instead of seconds."""
    auth_failure_status: int = 401
    """Answer to a missing or wrong token: 401 or 403."""
    drip_interval_s: float = 0.5
    """Seconds between the bytes of a ``fault-slow_drip-...`` body."""
    failure_rate: float = 0
    """Share of session requests answered HTTP 503, drawn per request."""
    failure_retry_after_s: int | None = None
    """The ``Retry-After`` sent with those 503s, in seconds (None: no header, as before)."""
    malformed_rate: float = 0
    """Share of ids, chosen by a hash of the id, whose body is malformed."""
    token: str | None = field(default=None, repr=False)
    """When set, ``Authorization: Bearer <token>`` is required (HTTP 401 otherwise)."""
    seed: int = 0
    """Changes every generated document and every random decision."""
    locations: int = 200
    """Size of the pool of locations the sessions are spread over."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.prefix and (not self.prefix.startswith("/") or self.prefix.endswith("/")):
            problems.append(
                f"prefix must be empty or start with '/' and not end with '/', got {self.prefix!r}"
            )
        if any(ch in self.prefix for ch in "?#{} "):
            problems.append(f"prefix must be a plain path, got {self.prefix!r}")
        for name in ("latency_ms", "latency_jitter_ms", "rate_limit", "rate_limit_burst", "drip_interval_s"):
            value = getattr(self, name)
            if not _is_number(value) or not math.isfinite(value) or value < 0:
                problems.append(f"{name} must be a finite number >= 0, got {value!r}")
        for name in ("failure_rate", "malformed_rate"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value <= 1:
                problems.append(f"{name} must be a share between 0 and 1, got {value!r}")
        problems += _seconds_problems(retry_after_s=self.retry_after_s)
        if self.failure_retry_after_s is not None:
            problems += _seconds_problems(failure_retry_after_s=self.failure_retry_after_s)
        if self.auth_failure_status not in (401, 403):
            problems.append(f"auth_failure_status must be 401 or 403, got {self.auth_failure_status!r}")
        if self.token is not None and (not isinstance(self.token, str) or not self.token.strip()):
            problems.append("token must be a non-empty string when set")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            problems.append(f"seed must be an integer, got {self.seed!r}")
        if not isinstance(self.locations, int) or isinstance(self.locations, bool) or self.locations < 1:
            problems.append(f"locations must be an integer >= 1, got {self.locations!r}")
        if problems:
            raise ValueError("invalid sandbox configuration: " + "; ".join(problems))


def _seconds_problems(**values: object) -> list[str]:
    return [
        f"{name} must be an integer >= 0, got {value!r}"
        for name, value in values.items()
        if not (_is_int(value) and value >= 0)  # type: ignore[operator]
    ]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
