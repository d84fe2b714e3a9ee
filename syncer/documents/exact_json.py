"""Exact JSON: text to values and back without ever using float. Pure.

`loads_exact` reads a body with numbers as `Decimal` (or `int`) and refuses what JSON allows but
a warehouse cannot hold; `dumps_exact` / `dumps_parsed` write values back with each number as
the text it was parsed from. The quick path (msgspec, in C) and the careful path (the standard
library) give the same values; a property test holds them to it.
"""

from __future__ import annotations

import json
import json.encoder
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from syncer.documents.coerce import preview
from syncer.documents.numbers import PLAIN_DECIMALS, PLAIN_NUMBER, exact_number, remember
from syncer.errors import DocumentError

MAX_DEPTH = 64
"""Deepest nesting of objects and lists accepted (the sample needs 7)."""

_encode_string = json.encoder.encode_basestring  # the C version: escapes quotes and controls


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
    if PLAIN_NUMBER.fullmatch(number_text):
        return remember(number_text)
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
    if b"\\" in body and b"\\u" in body:  # one byte is found far quicker than two
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
    non-finite Decimal: written by msgspec in C, much faster (the same text: a test compares
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
