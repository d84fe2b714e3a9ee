"""structlog set-up: JSON lines off a terminal, readable console lines on one; secrets redacted.

Every event goes to stderr. `configure(secrets=[token])` installs a processor that replaces
any occurrence of a secret in any value (messages, exceptions, tracebacks) with `***`, and
drops keys that only ever hold credentials. The same `Redactor` scrubs what the syncer stores
(failure messages and ids, `sync_queue.last_error`, `--failed-out`) and the bodies the gateway
sends (a gateway that echoes the token in a field): one definition of "the token", matched
case-insensitively (a gateway may upper-case what it echoes).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, Literal

import structlog

REDACTED = "***"
_SECRET_KEYS = frozenset({"token", "authorization", "password"})


class Redactor:
    """A structlog processor that removes secrets from every value, nested ones included."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = tuple(s for s in secrets if s)
        # Longest first: a secret that contains another is replaced whole.
        ordered = sorted(self.secrets, key=len, reverse=True)
        self._text = re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE) if ordered else None
        encoded = [s.encode("utf-8") for s in ordered]
        self._bytes = re.compile(b"|".join(map(re.escape, encoded)), re.IGNORECASE) if encoded else None

    def text(self, value: str) -> str:
        """`value` with every secret (in any case) replaced by `***`."""
        return value if self._text is None else self._text.sub(REDACTED, value)

    def data(self, value: bytes) -> bytes:
        """`value` (a response body) with every secret (ASCII case-insensitively) replaced by `***`."""
        if self._bytes is None or self._bytes.search(value) is None:  # the common case: no copy
            return value
        return self._bytes.sub(REDACTED.encode(), value)

    def scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                k: REDACTED if str(k).lower() in _SECRET_KEYS else self.scrub(v) for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return type(value)(self.scrub(v) for v in value)
        if isinstance(value, BaseException):
            return self.scrub(repr(value))
        return value

    def __call__(self, logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        return {k: REDACTED if k.lower() in _SECRET_KEYS else self.scrub(v) for k, v in event.items()}


def configure(
    *,
    log_format: Literal["json", "console"] | None = None,
    secrets: Iterable[str] = (),
    level: int = logging.INFO,
) -> None:
    fmt = log_format or ("console" if sys.stderr.isatty() else "json")
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if fmt == "json":
        processors += [
            structlog.processors.format_exc_info,
            Redactor(secrets),
            structlog.processors.JSONRenderer(),
        ]
    else:
        processors += [
            structlog.processors.format_exc_info,
            Redactor(secrets),
            structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()),
        ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # One write per line (PrintLogger writes the newline apart): the children of
        # `run --processes N` share the parent's stderr, and a line written whole is not split.
        # Through `sys.stderr` as it is at each write: while a progress bar is live, rich has
        # replaced it with a proxy that prints lines above the bar instead of through it.
        logger_factory=structlog.WriteLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at the time of the write."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def get_logger(name: str = "syncer") -> Any:
    return structlog.get_logger(name)
