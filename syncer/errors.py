"""Every error the syncer raises on purpose derives from `SyncerError`.

    SyncerError
    ├── ConfigError            bad option or setting                 -> exit 2
    │   └── GatewayUnusable    the URL is not the gateway, or unreachable from the start
    ├── DatabaseUnavailable    cannot reach or use the database      -> exit 2
    │   └── DatabaseLost       lost mid-run past its retry window    -> exit 2 (after run.finished)
    ├── CredentialsRejected    gateway answered 401/403 (or 2002)    -> exit 3
    └── FetchError             one id could not be synced
        ├── TransientError     worth retrying (408/429/5xx, I/O, 2004); carries `delay`
        └── PermanentError     not worth retrying; carries `kind` and `http_status`
            └── DocumentError  the body was received but cannot be understood

The worker decides by type and by `kind`, never by parsing messages. Messages never
contain the gateway token: the client never puts it in one, and `logs.py` redacts it.
"""

from __future__ import annotations


class SyncerError(Exception):
    """Root of the syncer's own errors."""


class ConfigError(SyncerError):
    """A bad option, environment variable or setting. The message says what to fix."""


class GatewayUnusable(ConfigError):
    """Before any success, the gateway URL answered only with what is not the gateway's JSON
    envelope (a proxy's HTML 404, a wrong path), or could not be connected to at all: every id
    would fail the same way, so the run stops. The message names the URL or host:port tried."""


class DatabaseUnavailable(SyncerError):
    """The database cannot be reached, or its schema is missing."""


class DatabaseLost(DatabaseUnavailable):
    """The database went away during a run for longer than `--db-retry-seconds`, or refused the
    run's role (privileges, read-only): the run stops and exits 2."""


class CredentialsRejected(SyncerError):
    """The gateway refused the token: every id would fail the same way, so the run stops."""

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class FetchError(SyncerError):
    """One id could not be synced this time."""

    kind: str = "error"
    foreign: bool = False
    """The answer was not the gateway's JSON envelope (an HTML or plain-text 404 of a proxy)."""
    unreachable: bool = False
    """No connection could be made (refused, DNS, no route): nothing answered at all."""

    def __init__(self, message: str, *, kind: str | None = None, http_status: int | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind
        self.http_status = http_status

    @property
    def message(self) -> str:
        return str(self)


class TransientError(FetchError):
    """Retry later. `delay` is the gateway's own Retry-After in seconds, if it sent one."""

    kind = "transient"

    def __init__(
        self,
        message: str,
        *,
        kind: str | None = None,
        http_status: int | None = None,
        delay: float | None = None,
    ) -> None:
        super().__init__(message, kind=kind, http_status=http_status)
        self.delay = delay


class PermanentError(FetchError):
    """Retrying cannot help: 404, other 4xx, an unknown envelope status code, a bad id."""

    kind = "permanent"


class DocumentError(PermanentError):
    """The gateway answered, but the body is not a session document we can understand."""

    kind = "bad_document"
