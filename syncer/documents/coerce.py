"""Small pure conversions: one JSON value (as parsed) to one column value.

The column functions (`text`, `key`, `decimal`, `timestamp`, `boolean`, ...) take a value as
parsed (numbers already `Decimal` or `int`) and the field's path for the error message, and
return the typed value or `None` for an absent one. A value that cannot mean anything raises
`DocumentError(kind="bad_field")` naming the field; nothing here guesses (no epoch seconds, no
"yes"/"no", no numbers from free text). Empty strings mean absent (the vendor sends them for
missing values, docs/gateway.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from syncer.documents.numbers import (
    INT_LIMIT,
    MAX_EXPONENT,
    NUMBER,
    PLAIN_DECIMALS,
    PLAIN_NUMBER,
    exact_number,
    remember,
)
from syncer.errors import DocumentError


def preview(value: Any) -> str:
    """A short description of a bad value for an error message (never a whole object)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def bad_field(field: str, value: Any, expected: str) -> DocumentError:
    return DocumentError(f"{field}: expected {expected}, got {preview(value)}", kind="bad_field")


def text(value: Any, field: str) -> str | None:
    """Text kept exactly as sent (trailing spaces included); numbers and booleans as their JSON text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    raise bad_field(field, value, "text")


def key(value: Any, field: str) -> str | None:
    """An identifier: text in lower case (OCPI 2.2 made ids case-insensitive)."""
    result = text(value, field)
    return None if result is None else result.lower()


def decimal(value: Any, field: str) -> Decimal | None:
    """An exact number from a JSON number or a numeric string; never via float."""
    if value is None:
        return None
    if isinstance(value, str):  # the common case first: the vendor sends most numbers as text
        number = PLAIN_DECIMALS.get(value)
        if number is not None:
            return number
        if PLAIN_NUMBER.fullmatch(value):  # surely in range: no checks needed
            return remember(value)
        return _decimal_text(value, field)
    if isinstance(value, Decimal):
        if value.is_finite() and abs(value.adjusted()) <= MAX_EXPONENT:
            return value
        raise bad_field(field, value, "a finite number within 1e±1000")
    if isinstance(value, bool):
        raise bad_field(field, value, "a number")
    if isinstance(value, int):
        if -INT_LIMIT < value < INT_LIMIT:
            return Decimal(value)
        raise bad_field(field, value, "a number within 1e±1000")
    raise bad_field(field, value, "a number")


def _decimal_text(value: str, field: str) -> Decimal | None:
    stripped = value.strip()
    if not stripped:
        return None
    result = exact_number(stripped) if NUMBER.fullmatch(stripped) else None
    if result is None:
        raise bad_field(field, value, "a number")
    return result


def timestamp(value: Any, field: str) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text; no zone means UTC (OCPI), offsets are converted."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_field(field, value, "an ISO 8601 timestamp")
    stripped = value.strip()
    if not stripped:
        return None
    if stripped[-1] in "Zz":
        stripped = stripped[:-1] + "+00:00"
    # fromisoformat also takes bare dates and the basic format; a session time needs both parts.
    if len(stripped) < 13 or stripped[4] != "-" or stripped[7] != "-" or stripped[10] not in "Tt ":
        raise bad_field(field, value, "an ISO 8601 timestamp")
    try:
        parsed = datetime.fromisoformat(stripped)
        if parsed.tzinfo is UTC:  # "Z" and "+00:00" (the commonest): already as wanted
            return parsed
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
        try:  # no zone: UTC. Parsing again with the zone is quicker than .replace(tzinfo=)
            return datetime.fromisoformat(stripped + "+00:00")
        except ValueError:
            return parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 pushed out of range
        raise bad_field(field, value, "an ISO 8601 timestamp") from None


def boolean(value: Any, field: str) -> bool | None:
    """A JSON boolean, or the strings "true"/"false" in any case."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "true":
            return True
        if word == "false":
            return False
        if not word:
            return None
    raise bad_field(field, value, "true or false")


def mapping(value: Any, field: str) -> dict[str, Any] | None:
    """An optional JSON object; null and "" mean absent."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return value
    raise bad_field(field, value, "an object")


def items(value: Any, field: str) -> list[Any]:
    """An optional JSON list; null and "" mean empty."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    raise bad_field(field, value, "a list")


def text_list(value: Any, field: str) -> tuple[str, ...] | None:
    """A list of texts (numbers and booleans as text); null and empty items are skipped."""
    if value is None or value == "":
        return None
    if not isinstance(value, list):
        raise bad_field(field, value, "a list")
    texts = (text(item, f"{field}[{i}]") for i, item in enumerate(value))
    return tuple(t for t in texts if t is not None)
