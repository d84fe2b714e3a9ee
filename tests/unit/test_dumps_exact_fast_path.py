"""dumps_parsed (and dumps_exact, for the careful parser's objects) hand values straight from
loads_exact to msgspec: the text must not change.

The general writer is the reference: every code point's escaping, every scalar, nesting, key
order, and the fall-backs (integers beyond 64 bits, hand-built values) give the same text.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from syncer.documents import exact_json
from syncer.documents.exact_json import _loads_careful, dumps_exact, dumps_parsed, loads_exact


def general(value: Any) -> str:
    parts: list[str] = []
    exact_json._write(value, parts.append)
    return "".join(parts)


def parsed(value: Any) -> Any:
    return loads_exact(json.dumps(value, ensure_ascii=True).encode())


def test_the_careful_parsers_objects_take_the_fast_path() -> None:
    assert type(_loads_careful(b'{"a": {"b": [1]}}')) is exact_json._ParsedObject
    assert type(_loads_careful(b'{"a": {"b": [1]}}')["a"]) is exact_json._ParsedObject


def test_every_code_point_is_escaped_the_same() -> None:
    text = "".join(chr(cp) for cp in range(1, 0x110000) if not 0xD800 <= cp <= 0xDFFF)  # NUL is refused
    value = parsed({"s": text, text[:5000]: [text[-5000:]]})
    assert dumps_exact(value) == dumps_parsed(value) == general(value)


@pytest.mark.parametrize(
    "body",
    [
        b'{"kwh": 0.11429, "rating": 0.0, "v": 1.5E+10, "w": -0, "x": 0.0010, "y": 1e-7, "z": 12}',
        b'{"big": 123456789012345678901234567890, "n": [1.7100000000000002, -9223372036854775809]}',
        b'{"max": 18446744073709551615, "min": -9223372036854775808, "b": [true, false, null]}',
        b'{"b": 1, "a": [], "c": {}, "d": [[], [{}]], "e": ""}',
        b'{"camelCase": "Caf\\u00e9 \\u26a1", "q": "\\"\\\\\\n\\t\\u0001\\u001f\\u007f\\u2028"}',
    ],
)
def test_parsed_documents_give_the_general_writers_text(body: bytes) -> None:
    for value in (loads_exact(body), _loads_careful(body)):
        assert dumps_exact(value) == dumps_parsed(value) == general(value)
    assert json.loads(dumps_parsed(value), parse_float=Decimal) == json.loads(body, parse_float=Decimal)


def test_the_sample_document_is_written_the_same(seed_body: bytes) -> None:
    data = loads_exact(seed_body)["data"]
    assert dumps_parsed(data) == dumps_exact(data) == general(data)


def test_hand_built_values_still_use_the_general_writer() -> None:
    assert dumps_exact({"f": 1e16}) == '{"f":1e+16}'  # a float: never produced by the parser
    with pytest.raises(ValueError, match="not a JSON value"):
        dumps_exact({"x": float("nan")})


@pytest.fixture
def seed_body() -> bytes:
    from pathlib import Path

    return (Path(__file__).parents[1] / "fixtures" / "seed_session.json").read_bytes()
