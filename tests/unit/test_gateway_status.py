"""The envelope status_code mapping: the vendor hub's codes, everything else a permanent failure."""

from __future__ import annotations

import pytest

from syncer.documents.envelope import MAX_MESSAGE_CHARS, check_status
from syncer.errors import CredentialsRejected, PermanentError, TransientError


def test_1000_is_success() -> None:
    check_status(1000, "Success")  # returns without raising
    check_status(1000, None)


def test_2004_rate_limited_is_transient() -> None:
    with pytest.raises(TransientError) as info:
        check_status(2004, "Too many requests")
    assert info.value.kind == "rate_limited_2004"
    assert info.value.delay is None
    assert "2004" in str(info.value)


def test_2002_unauthorized_stops_the_run() -> None:
    with pytest.raises(CredentialsRejected) as info:
        check_status(2002, "Unauthorized")
    assert "2002" in str(info.value)
    assert info.value.http_status is None


def test_2003_is_not_found() -> None:
    with pytest.raises(PermanentError) as info:
        check_status(2003, "Session not found")
    assert info.value.kind == "not_found"
    assert not isinstance(info.value, TransientError)


@pytest.mark.parametrize(
    "code",
    [
        2000,  # OCPI's generic client error
        2001,
        3000,
        1001,
        0,
        -1,
        None,  # status_code missing from the envelope
        "1000",  # a string is not the success code
        1000.0,  # nor is a float
        True,  # bool is an int subclass; must not slip through
        [1000],
    ],
)
def test_other_codes_are_permanent_and_recorded(code: object) -> None:
    with pytest.raises(PermanentError) as info:
        check_status(code, "Something odd")
    assert info.value.kind == "gateway_status"
    assert repr(code) in str(info.value)
    assert "Something odd" in str(info.value)


def test_long_message_is_truncated() -> None:
    with pytest.raises(PermanentError) as info:
        check_status(9999, "x" * 10_000)
    text = str(info.value)
    assert "9999" in text
    assert text.count("x") == MAX_MESSAGE_CHARS
    assert len(text) < MAX_MESSAGE_CHARS + 60


def test_message_is_kept_on_one_printable_line() -> None:
    with pytest.raises(PermanentError) as info:
        check_status(9999, "line one\nline two\x1b[31m")
    assert "\n" not in str(info.value)
    assert "\x1b" not in str(info.value)
    assert "line one line two" in str(info.value)


def test_missing_message_still_names_the_code() -> None:
    with pytest.raises(PermanentError) as info:
        check_status(2999, None)
    assert str(info.value) == "gateway status_code 2999"
