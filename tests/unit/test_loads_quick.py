"""`loads_exact` has a quick path (msgspec) and a careful one (the standard library with hooks).

The quick path may only answer where it gives what the careful path gives; everywhere else it
must step aside (`_UNSURE`) so the careful path accepts or refuses with its own reasons.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.documents import exact_json
from syncer.documents.exact_json import _UNSURE, MAX_DEPTH, _loads_careful, _loads_quick, loads_exact
from syncer.errors import DocumentError
from syncer.sandbox.generate import session_body

SEED = Path(__file__).parents[1] / "fixtures" / "seed_session.json"


def careful(body: bytes) -> Any:
    try:
        return _loads_careful(body)
    except DocumentError as error:
        return ("refused", error.kind)


def no_float(value: Any) -> bool:
    if isinstance(value, dict):
        return all(no_float(v) for v in value.values())
    if isinstance(value, list):
        return all(no_float(v) for v in value)
    return not isinstance(value, float)


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (Decimal('1.0') is not the int 1)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return str(a) == str(b)  # the same digits and exponent, not just the same value
    return type(a) is type(b) and a == b


def check(body: bytes) -> Any:
    """The quick answer, after checking it against the careful one; `_UNSURE` if it stepped aside."""
    quick = _loads_quick(body)
    if quick is not _UNSURE:
        expected = careful(body)
        assert not (isinstance(expected, tuple) and expected[0] == "refused"), (body[:80], expected)
        assert same(quick, expected), body[:80]
        assert no_float(quick)
    return quick


def nested(depth: int, empty_inner: str = "[]") -> bytes:
    """Containers nested `depth` deep, alternating objects and lists, each with a key or item."""
    text = empty_inner
    for level in range(depth - 1):
        text = f'{{"k{level}": {text}}}' if level % 2 else f"[1, {text}]"
    return text.encode()


def test_the_quick_path_takes_the_sample_and_the_sandbox_documents() -> None:
    """It must actually be used for the documents the worker sees, or it speeds up nothing."""
    bodies = [SEED.read_bytes()] + [session_body(f"quick-{i}", 0, 7, 50) for i in range(200)]
    for body in bodies:
        assert check(body) is not _UNSURE


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "a": 2}',
        b'{"x": {"a": 1, "b": {"c": 1, "c": 1}}}',
        b'{"a": "\\u0000"}',
        b'{"a": "\\ud800"}',
        b'{"a": "\\udc00x"}',
        b'{"\\u0000": 1}',
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": 1e5000}',
        b'{"a": 1' + b"0" * 200 + b".5}",
        b'{"a": ' + b"9" * 4400 + b"}",
        b'{"a": "\xff"}',
        b'{"a": "t\tb"}',
        b'{"a": 1} x',
        b'{"a": 1,}',
        b"",
        nested(MAX_DEPTH + 1),
        nested(MAX_DEPTH + 1, "{}"),
        nested(3000),
    ],
)
def test_the_quick_path_steps_aside_where_the_careful_one_refuses(body: bytes) -> None:
    assert check(body) is _UNSURE
    with pytest.raises(DocumentError):
        loads_exact(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": -0, "b": 1E5, "c": 1e2, "d": 0.10}',  # spellings the encoder writes otherwise
        b'{"a": "\\u00e9", "b": "\\/"}',  # escapes the encoder writes otherwise
        b'{"a": 18446744073709551616, "b": -9223372036854775809}',  # beyond 64 bits
        b'\xef\xbb\xbf{"a": 1}',  # a byte order mark
    ],
)
def test_bodies_either_path_may_take_come_out_the_same(body: bytes) -> None:
    check(body)
    assert same(loads_exact(body), careful(body))


@pytest.mark.parametrize("depth", [1, 2, MAX_DEPTH - 1, MAX_DEPTH])
@pytest.mark.parametrize("inner", ["[]", "{}", '"[[[[{{{{"', '"\\"[[[[\\\\"'])
def test_depth_up_to_the_limit_is_kept_and_brackets_in_strings_do_not_count(depth: int, inner: str) -> None:
    body = nested(depth, inner)
    quick = check(body)
    if depth <= MAX_DEPTH // 2 and '"' not in inner:
        assert quick is not _UNSURE  # a round strips at least a level: half the limit is vouched for
    assert not isinstance(careful(body), tuple)


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(lambda d: abs(d.adjusted()) < 900),
    st.text(),
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(
    value=json_values,
    separators=st.sampled_from([(",", ":"), (", ", ": "), (" , ", " : ")]),
    ensure_ascii=st.booleans(),
    indent=st.sampled_from([None, 2]),
)
def test_any_json_reads_the_same_by_both_paths(
    value: Any, separators: tuple[str, str], ensure_ascii: bool, indent: int | None
) -> None:
    body = json.dumps(
        {"v": value}, separators=separators, ensure_ascii=ensure_ascii, indent=indent, default=str
    ).encode("utf-8", "surrogatepass")
    check(body)


@settings(max_examples=200, deadline=None)
@given(value=json_values, key=st.text(max_size=6), at=st.integers(min_value=0, max_value=3))
def test_a_repeated_key_anywhere_is_never_taken_by_the_quick_path(value: Any, key: str, at: int) -> None:
    """Written by hand so the key really appears twice in the text."""
    inner = json.dumps(value, default=str)
    name = json.dumps(key)
    members = [f'"p{i}": {inner}' for i in range(3)]
    members.insert(at, f"{name}: 1")
    members.insert(at, f"{name}: {inner}")
    body = ('{"outer": [{' + ", ".join(members) + "}]}").encode("utf-8", "surrogatepass")
    assert _loads_quick(body) is _UNSURE
    assert careful(body) == ("refused", "duplicate_key")


def test_the_raw_document_text_is_the_same_from_either_path() -> None:
    body = SEED.read_bytes()
    quick, slow = exact_json.loads_exact(body), _loads_careful(body)
    assert type(slow) is not dict and type(quick) is dict  # the careful path's own object type
    assert exact_json.dumps_parsed(quick["data"]) == exact_json.dumps_exact(slow["data"])
