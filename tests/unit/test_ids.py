"""The id rule shared by the sources and the client: 1-64 of [A-Za-z0-9._-], never . or .."""

from __future__ import annotations

import pytest

from syncer.ids import ID_PATTERN, valid_id

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
