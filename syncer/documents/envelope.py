"""The one place that maps the gateway envelope's `status_code` to an outcome.

The vendor's hub codes (see docs/gateway.md), not OCPI's own meanings:

    1000  success                -> return
    2002  unauthorized           -> CredentialsRejected (the run stops, exit 3)
    2003  not found              -> PermanentError(kind="not_found")
    2004  rate limited           -> TransientError(kind="rate_limited_2004"); the caller also
                                    pauses the shared rate limiter, as for an HTTP 429
    other, missing or not an int -> DocumentError(kind="gateway_status"), code in the message
"""

from __future__ import annotations

from typing import Final

from syncer.errors import CredentialsRejected, DocumentError, PermanentError, TransientError
from syncer.outcomes import FailureKind

SUCCESS: Final = 1000
UNAUTHORIZED: Final = 2002
NOT_FOUND: Final = 2003
RATE_LIMITED: Final = 2004
RATE_LIMITED_KIND: Final = FailureKind.RATE_LIMITED_2004

MAX_MESSAGE_CHARS: Final = 200


def _one_line(value: object, limit: int) -> str:
    """`value` as printable text on one line, at most `limit` characters (plus an ellipsis)."""
    text = "" if value is None else str(value)
    text = "".join(ch if ch.isprintable() else " " for ch in text[: limit + 1])
    return text if len(text) <= limit else text[:limit] + "…"


def check_status(code: object, message: object) -> None:
    """Return when the envelope says success; otherwise raise the matching syncer error."""
    is_int = isinstance(code, int) and not isinstance(code, bool)
    if is_int and code == SUCCESS:
        return
    shown = _one_line(message, MAX_MESSAGE_CHARS)
    head = f"gateway status_code {_one_line(repr(code), 40)}"
    detail = f"{head}: {shown}" if shown else head
    if is_int and code == RATE_LIMITED:
        raise TransientError(detail, kind=RATE_LIMITED_KIND)
    if is_int and code == UNAUTHORIZED:
        raise CredentialsRejected(detail)
    if is_int and code == NOT_FOUND:
        raise PermanentError(detail, kind=FailureKind.NOT_FOUND)
    raise DocumentError(detail, kind="gateway_status")
