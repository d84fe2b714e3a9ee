"""What a session id may look like: checked before any request is made.

Ids are 1-64 characters of ``[A-Za-z0-9._-]``, and never ``.`` or ``..`` (they would be
path segments, not ids). The id sources and the client share this one definition.

A rejected id is still reported (a `sync_failures` row, a log line) as `shown(text)`: control
characters escaped, at most 200 characters, so that neither PostgreSQL (which refuses NUL in
text) nor a terminal reading the log (escape sequences) gets the raw bytes.
"""

from __future__ import annotations

import re
from typing import Final

# \A and \Z, not ^ and $: `$` also matches before a trailing newline, so "abc\n" would pass.
SHOWN_CHARS: Final = 200
"""The longest rejected id reported (after escaping)."""

ID_PATTERN: Final[re.Pattern[str]] = re.compile(r"\A(?!\.{1,2}\Z)[A-Za-z0-9._-]{1,64}\Z")


def valid_id(s: str) -> bool:
    """True when `s` is a well-formed session id (any case; callers normalise separately)."""
    return isinstance(s, str) and ID_PATTERN.match(s) is not None


def shown(text: str) -> str:
    """`text` fit to report as a rejected id: printable characters as they are, others as
    ``\\xNN``/``\\uNNNN`` escapes, cut to `SHOWN_CHARS`. A valid id comes back unchanged."""
    escaped = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text[:SHOWN_CHARS]
    )
    return escaped[:SHOWN_CHARS]
