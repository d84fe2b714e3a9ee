"""The id rule shared by the sources and the client: 1-64 of [A-Za-z0-9._-], never . or .."""

from __future__ import annotations

import pytest

from syncer.ids import ID_PATTERN, SHOWN_CHARS, shown, valid_id

VALID = [
    "a",
    "0123456789abcdef0123456789abcdef",  # the gateway's own 32-hex ids
    "ABCdef",  # case is normalised elsewhere, not rejected
    "a.b-c_d",
    "...",  # three dots is not a path segment with meaning
    ".hidden",
    "x" * 64,
]

INVALID = [
    "",
    ".",
    "..",
    "x" * 65,
    "../x",
    "a/b",
    "a\\b",
    "%2e%2e",
    "?q=1",
    "a#frag",
    "a b",
    " a",
    "abc\n",  # `$` would accept this; the pattern must not
    "abc\r\n",
    "a\x00b",
    "a\x1fb",
    "'; DROP TABLE x;--",
    "é",
    "ａ",  # fullwidth a
    "٣",  # an Arabic-Indic digit: \d would take it, [0-9] must not
]


@pytest.mark.parametrize("value", VALID)
def test_valid_ids_accepted(value: str) -> None:
    assert valid_id(value)
    assert ID_PATTERN.match(value)


@pytest.mark.parametrize("value", INVALID)
def test_invalid_ids_rejected(value: str) -> None:
    assert not valid_id(value)
    assert ID_PATTERN.match(value) is None


def test_non_string_is_not_an_id() -> None:
    assert not valid_id(123)  # type: ignore[arg-type]
    assert not valid_id(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", VALID)
def test_shown_leaves_valid_ids_alone(value: str) -> None:
    assert shown(value) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a\x00b", "a\\x00b"),  # PostgreSQL refuses NUL in text
        ("\x1b[2Jred", "\\x1b[2Jred"),  # a terminal reading the log would obey it
        ("tab\tid", "tab\\tid"),
        ("a\u2028b", "a\\u2028b"),
        ("lone \ud800", "lone \\ud800"),  # not encodable as UTF-8
        ("'; DROP TABLE x;--", "'; DROP TABLE x;--"),  # printable: kept (parameters are bound)
        ("café ａ", "café ａ"),
    ],
)
def test_shown_escapes_what_cannot_be_stored_or_printed(value: str, expected: str) -> None:
    assert shown(value) == expected
    shown(value).encode("utf-8")


def test_shown_is_cut_after_escaping() -> None:
    assert shown("x" * 500) == "x" * SHOWN_CHARS
    assert len(shown("\x00" * 500)) == SHOWN_CHARS
