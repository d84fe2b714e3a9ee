"""What happened to each id, and the run's counts: pure values shared by worker and store."""

from __future__ import annotations

import signal
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

EXIT_INTERRUPTED = {signal.SIGINT: 130, signal.SIGTERM: 143}
"""The exit code of a run stopped by a signal after a clean drain (the contract's 130/143)."""


class Outcome(StrEnum):
    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    STALE = "stale"
    NOT_FOUND = "not_found"
    FAILED = "failed"
    DEFERRED = "deferred"


def classify(incoming: datetime, stored: datetime | None, force: bool) -> Outcome:
    """The outcome of writing version `incoming` over `stored` (None: no row yet); `force`
    rewrites an equal version (`syncer reprocess`). Both write paths report by it."""
    if stored is None:
        return Outcome.INSERTED
    if incoming > stored or (force and incoming == stored):
        return Outcome.UPDATED
    return Outcome.UNCHANGED if incoming == stored else Outcome.STALE


@dataclass(frozen=True, slots=True)
class Failure:
    """One id that did not sync in this run (also used for `not_found`)."""

    id: str
    kind: str
    message: str
    http_status: int | None = None
    retryable: bool = False


@dataclass
class RunSummary:
    requested: int = 0
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    not_found: int = 0
    failed: int = 0
    deferred: int = 0
    """Queue only: ids that failed transiently and went back to `pending` with a later `available_at`."""
    lease_lost: int = 0
    """Queue only: fetched ids not written because another worker had reclaimed them."""
    retries: int = 0
    duration_s: float = 0.0

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    @property
    def sessions_per_s(self) -> float:
        return round(self.fetched / self.duration_s, 1) if self.duration_s > 0 else 0.0

    def as_dict(self) -> dict[str, int | float]:
        out: dict[str, int | float] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["duration_s"] = round(self.duration_s, 3)
        out["sessions_per_s"] = self.sessions_per_s
        return out

    def exit_code(self) -> int:
        return 1 if self.failed else 0


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    source: str
    started_at: datetime
