"""The syncer's vocabularies and what happened to each id: pure values shared by every stage.

Statuses, failure kinds and exit codes are enums (`StrEnum` / `IntEnum`): each is stored and
printed as its plain value, and a misspelt one is a NameError, not a silent new status.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, fields
from datetime import datetime
from enum import IntEnum, StrEnum


class ExitCode(IntEnum):
    """The contract's exit codes."""

    OK = 0
    FAILED = 1
    """Some ids failed after their retries, or the run was degraded."""
    USAGE = 2
    """Bad usage or configuration, not the gateway, or the database unreachable or lost."""
    CREDENTIALS = 3
    INTERRUPTED_SIGINT = 130
    INTERRUPTED_SIGTERM = 143


EXIT_INTERRUPTED = {signal.SIGINT: ExitCode.INTERRUPTED_SIGINT, signal.SIGTERM: ExitCode.INTERRUPTED_SIGTERM}
"""The exit code of a run stopped by a signal after a clean drain (the contract's 130/143)."""


class RunStatus(StrEnum):
    """`sync_runs.status`."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    DEGRADED = "degraded"
    INTERRUPTED = "interrupted"
    ABANDONED = "abandoned"
    CREDENTIALS_REJECTED = "credentials_rejected"


class RunSource(StrEnum):
    """`sync_runs.source`: where a run's ids came from."""

    FILE = "file"
    QUEUE = "queue"
    RAW = "raw"
    """`syncer reprocess`: the stored raw documents."""


class QueueStatus(StrEnum):
    """`sync_queue.status`."""

    PENDING = "pending"
    LEASED = "leased"
    DONE = "done"
    FAILED = "failed"


class FailureKind(StrEnum):
    """`sync_failures.kind` and `sync_queue.last_error_kind` for failures not named after an
    HTTP status (those are `http_<status>`, see `http_kind`) nor a document problem (those are
    `documents.parse.ERROR_KINDS`)."""

    NOT_FOUND = "not_found"
    INVALID_ID = "invalid_id"
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    WRITE_ERROR = "write_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    TRUNCATED = "truncated"
    BODY_TOO_LARGE = "body_too_large"
    RATE_LIMITED_2004 = "rate_limited_2004"
    FUTURE_VERSION = "future_version"
    """`last_updated` further ahead of the worker's clock than `--future-tolerance`."""


def http_kind(status: int) -> str:
    """The failure kind of an HTTP status with no kind of its own: `http_503`."""
    return f"http_{status}"


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
    retry_after: float | None = None
    """The gateway's last `Retry-After` for this id, in seconds (capped): a queue defers it at
    least that long."""


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

    def exit_code(self) -> ExitCode:
        return ExitCode.FAILED if self.failed else ExitCode.OK
