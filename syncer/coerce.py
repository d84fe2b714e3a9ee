"""Small pure conversions: JSON text to values and back, and one JSON value to one column value.

`loads_exact` and `dumps_exact` move between JSON text and values without ever using float.

The column functions (`text`, `key`, `decimal`, `timestamp`, `boolean`, ...) take a value as
parsed (numbers already `Decimal` or `int`) and the field's path for the error message, and
return the typed value or `None` for an absent one. A value that cannot mean anything raises
`DocumentError(kind="bad_field")` naming the field; nothing here guesses (no epoch seconds, no
"yes"/"no", no numbers from free text). Empty strings mean absent (the vendor sends them for
missing values, DOMAIN.md).
"""

from __future__ import annotations

import json
import json.encoder
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from syncer.errors import DocumentError

MAX_EXPONENT = 1000
"""Numbers beyond 1e±1000 are junk, and PostgreSQL's numeric cannot hold the extreme ones."""

MAX_NUMBER_TEXT = 100
"""Longest number text accepted: no money or volume needs a hundred digits."""

MAX_DEPTH = 64
"""Deepest nesting of objects and lists accepted (the sample needs 7)."""

_INT_LIMIT = 10 ** (MAX_EXPONENT + 1)
_encode_string = json.encoder.encode_basestring  # the C version: escapes quotes and controls

# A JSON number, also with the leading "+", "1." and ".5" spellings Decimal takes; ASCII digits
# only (Decimal alone would accept "1_000", "NaN", "Infinity" and non-ASCII digits).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_PLAIN_NUMBER = re.compile(r"-?\d{1,40}(?:\.\d{1,40})?", re.ASCII)
"""The usual number text: `decimal` takes it straight to Decimal (it is surely within range)."""


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


def exact_number(number_text: str) -> Decimal | None:
    """The Decimal for a JSON number's text, or None when it is out of the accepted range."""
    if len(number_text) > MAX_NUMBER_TEXT:
        return None
    try:
        result = Decimal(number_text)
    except InvalidOperation:  # an exponent too large for Decimal itself
        return None
    return result if abs(result.adjusted()) <= MAX_EXPONENT else None


PLAIN_DECIMALS: dict[str, Decimal] = {}
"""Number texts already read (`decimal`): volumes repeat (a few thousand distinct texts in
hundreds of thousands of values), a lookup costs a tenth of reading. Decimals are immutable,
so sharing one is safe. Only texts `_PLAIN_NUMBER` accepted are kept."""
PLAIN_DECIMALS_MAX = 16_384
"""Texts kept at most (~2 MB); the memo is emptied when full."""


def decimal(value: Any, field: str) -> Decimal | None:
    """An exact number from a JSON number or a numeric string; never via float."""
    if value is None:
        return None
    if isinstance(value, str):  # the common case first: the vendor sends most numbers as text
        number = PLAIN_DECIMALS.get(value)
        if number is not None:
            return number
        if _PLAIN_NUMBER.fullmatch(value):  # surely in range: no checks needed
            return _remember(value)
        return _decimal_text(value, field)
    if isinstance(value, Decimal):
        if value.is_finite() and abs(value.adjusted()) <= MAX_EXPONENT:
            return value
        raise bad_field(field, value, "a finite number within 1e±1000")
    if isinstance(value, bool):
        raise bad_field(field, value, "a number")
    if isinstance(value, int):
        if -_INT_LIMIT < value < _INT_LIMIT:
            return Decimal(value)
        raise bad_field(field, value, "a number within 1e±1000")
    raise bad_field(field, value, "a number")


def _remember(plain_text: str) -> Decimal:
    """The Decimal of a text `_PLAIN_NUMBER` accepted, kept in the memo."""
    if len(PLAIN_DECIMALS) >= PLAIN_DECIMALS_MAX:
        PLAIN_DECIMALS.clear()
    number = PLAIN_DECIMALS[plain_text] = Decimal(plain_text)
    return number


def _decimal_text(value: str, field: str) -> Decimal | None:
    stripped = value.strip()
    if not stripped:
        return None
    result = exact_number(stripped) if _NUMBER.fullmatch(stripped) else None
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
        try:  # no zone: UTC. Parsing again with the zone is 4x quicker than .replace(tzinfo=)
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


# --- JSON text -> values --------------------------------------------------------------------


class _Reject(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _ParsedObject(dict[str, Any]):
    """A JSON object as `loads_exact` made it: text keys, and no float anywhere inside (numbers
    are `int` or `Decimal`), so `dumps_exact` can hand it to msgspec and get the same text."""

    __slots__ = ()


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = _ParsedObject(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise _Reject("duplicate_key", f"duplicate key {preview(name)} in an object")
            seen.add(name)
    return obj


def _no_constant(name: str) -> Any:
    raise _Reject("non_finite_number", f"{name} is not a JSON number")


def _number(number_text: str) -> Decimal:
    """A JSON number with a fraction or exponent (both parsers' hook): from the memo of plain
    number texts when it is there, as a numeric string would be."""
    result = PLAIN_DECIMALS.get(number_text)
    if result is not None:
        return result
    if _PLAIN_NUMBER.fullmatch(number_text):
        return _remember(number_text)
    result = exact_number(number_text)
    if result is None:
        raise _Reject("number_out_of_range", f"number {preview(number_text)} is out of range")
    return result


def loads_exact(body: bytes) -> Any:
    """The JSON value in UTF-8 `body`, numbers with a fraction or exponent as `Decimal`.

    Objects are dicts in received order. Also rejects what JSON allows but a warehouse cannot
    hold: duplicate keys, NaN/Infinity, absurd numbers, deep nesting, NUL and lone surrogates.

    A plain body (the common case) is read by msgspec in C, about twice as fast; anything
    the quick path cannot vouch for is read again by the careful path below, which alone
    decides what is refused and why. Both give the same value (a property test holds them to it).
    """
    value = _loads_quick(body)
    return _loads_careful(body) if value is _UNSURE else value


_UNSURE = object()
_QUICK = msgspec.json.Decoder(float_hook=_number)
_CANONICAL = msgspec.json.Encoder(decimal_format="number")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b'{}[]"\\')


def _loads_quick(body: bytes) -> Any:
    """The value of a body the quick path can vouch for, else `_UNSURE`.

    It vouches when: there is no \\u escape (only those can carry NUL or a lone surrogate), msgspec
    reads it with every number exact and within range, the body minified is byte for byte what
    the value writes back (so no object had a key twice: it would have come back shorter), and
    it nests no deeper than `MAX_DEPTH`."""
    if b"\\" in body and b"\\u" in body:  # one byte is found ~50x quicker than two
        return _UNSURE
    try:
        value = _QUICK.decode(body)
        canonical = _CANONICAL.encode(value)
        if msgspec.json.format(body, indent=-1) != canonical or not _shallow(canonical):
            return _UNSURE
    except (msgspec.MsgspecError, _Reject, ValueError, TypeError, RecursionError):
        return _UNSURE
    return value


def canonical_json(value: Any) -> bytes:
    """Compact JSON text of a value from `loads_exact`, numbers as their exact text: equal
    texts mean values every function here reads alike."""
    return _CANONICAL.encode(value)


def _shallow(text: bytes) -> bool:
    """Whether the (valid) JSON `text` surely nests no deeper than `MAX_DEPTH`. A no is only
    "not sure": the careful path then decides.

    Only brackets and quotes are kept. With no escape in the text, every string is then a pair
    of quotes around the brackets it holds; dropping every `""` leaves no quote at all exactly
    when no string holds a bracket (otherwise: not sure), and what is left is the nesting.
    Innermost pairs are stripped a round at a time; a round strips one or two levels (`[{}]`),
    so a shape gone within MAX_DEPTH // 2 rounds is no deeper than MAX_DEPTH (the sample nests
    7 deep; bodies deeper than half the limit are left to the careful path)."""
    shape = text.translate(None, _NOT_BRACKETS)
    if b"\\" in shape:
        return False
    shape = shape.replace(b'""', b"")
    if b'"' in shape:
        return False
    for _ in range(MAX_DEPTH // 2):
        if not shape:
            return True
        shape = shape.replace(b"{}", b"").replace(b"[]", b"")
    return not shape


def _loads_careful(body: bytes) -> Any:
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"body is not UTF-8 (bad byte at {exc.start})", kind="not_utf8") from None
    decoded = decoded.removeprefix("\ufeff")  # a UTF-8 byte order mark is legal, if pointless
    try:
        value = json.loads(
            decoded, parse_float=_number, parse_constant=_no_constant, object_pairs_hook=_unique_pairs
        )
    except _Reject as exc:
        raise DocumentError(str(exc), kind=exc.kind) from None
    except RecursionError:
        raise DocumentError(f"JSON nested deeper than {MAX_DEPTH} levels", kind="too_deep") from None
    except json.JSONDecodeError as exc:
        raise DocumentError(f"body is not valid JSON: {exc}", kind="invalid_json") from None
    except ValueError:  # the only other one: an integer over Python's 4300-digit conversion limit
        raise DocumentError("an integer has more than 4300 digits", kind="number_out_of_range") from None
    # Only a \u escape can put NUL or a lone surrogate in a string: both are refused by PostgreSQL.
    _check_tree(value, check_text="\\u" in decoded)
    return value


def _check_tree(root: Any, *, check_text: bool) -> None:
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise DocumentError(f"JSON nested deeper than {MAX_DEPTH} levels", kind="too_deep")
        if isinstance(node, dict):
            if check_text:
                for name in node:
                    _check_text(name)
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            if check_text and isinstance(node, str):
                _check_text(node)
            continue
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
            elif check_text and isinstance(child, str):
                _check_text(child)


def _check_text(string: str) -> None:
    if "\x00" in string:
        raise DocumentError("text contains a NUL character", kind="bad_text")
    if not string.isascii():
        try:
            string.encode("utf-8")
        except UnicodeEncodeError:
            raise DocumentError("text contains an unpaired UTF-16 surrogate", kind="bad_text") from None


# --- values -> JSON text ---------------------------------------------------------------------


def dumps_exact(obj: Any) -> str:
    """Compact JSON text with each `Decimal` written as the number it was parsed from.

    Keys keep their order; `json.loads(dumps_exact(x), parse_float=Decimal) == x`.

    An object from `loads_exact`'s careful path is written by msgspec, as in `dumps_parsed`;
    the rest by the general writer below.
    """
    if type(obj) is _ParsedObject:
        return dumps_parsed(obj)
    return _dumps_general(obj)


def dumps_parsed(obj: Any) -> str:
    """`dumps_exact` for a value straight from `loads_exact`, which holds no float and no
    non-finite Decimal: written by msgspec in C, ~10x faster (the same text: a test compares
    every character's escaping). Only for such values: msgspec would write a NaN Decimal put in
    afterwards as `NaN`, where `dumps_exact` refuses it."""
    try:
        return canonical_json(obj).decode()
    except (TypeError, ValueError, msgspec.EncodeError):  # not a parsed value: the general writer decides
        return _dumps_general(obj)


def _dumps_general(obj: Any) -> str:
    parts: list[str] = []
    _write(obj, parts.append)
    return "".join(parts)


def _write(obj: Any, emit: Callable[[str], None]) -> None:
    if isinstance(obj, dict):
        separator = "{"
        for name, value in obj.items():
            if not isinstance(name, str):
                raise TypeError(f"JSON object keys must be text, not {type(name).__name__}")
            # Fast path for the common leaves; everything else goes through the general case.
            if type(value) is str:
                emit(f"{separator}{_encode_string(name)}:{_encode_string(value)}")
            else:
                emit(f"{separator}{_encode_string(name)}:")
                _write(value, emit)
            separator = ","
        emit("}" if separator == "," else "{}")
    elif isinstance(obj, (list, tuple)):
        separator = "["
        for value in obj:
            emit(separator)
            _write(value, emit)
            separator = ","
        emit("]" if separator == "," else "[]")
    else:
        emit(_scalar(obj))


def _scalar(obj: Any) -> str:
    if isinstance(obj, str):
        return _encode_string(obj)
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, int):
        return int.__repr__(obj)
    if isinstance(obj, Decimal) and obj.is_finite():
        return str(obj)  # scientific notation only where Decimal needs it: valid JSON either way
    if isinstance(obj, float) and math.isfinite(obj):
        return float.__repr__(obj)
    raise ValueError(f"{preview(obj)} is not a JSON value")
