"""What a session id may look like: checked before any request is made.

Ids are 1-64 characters of ``[A-Za-z0-9._-]``, and never ``.`` or ``..`` (they would be
path segments, not ids). The id sources and the client share this one definition.
"""

from __future__ import annotations

import re
from typing import Final

# \A and \Z, not ^ and $: `$` also matches before a trailing newline, so "abc\n" would pass.
ID_PATTERN: Final[re.Pattern[str]] = re.compile(r"\A(?!\.{1,2}\Z)[A-Za-z0-9._-]{1,64}\Z")


def valid_id(s: str) -> bool:
    """True when `s` is a well-formed session id (any case; callers normalise separately)."""
    return isinstance(s, str) and ID_PATTERN.match(s) is not None
