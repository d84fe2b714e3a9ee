"""The one wall clock: aware UTC. (Durations use time.monotonic.)"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
