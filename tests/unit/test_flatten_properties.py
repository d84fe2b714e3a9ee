"""Properties: whatever the gateway sends, flatten_body raises DocumentError or returns rows the
tables accept (keys present and lower case, UTC timestamps, finite decimals, unique keys)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from syncer.documents.flatten import flatten_body
from syncer.documents.parse import ERROR_KINDS, dumps_exact
from syncer.documents.rows import PeriodRows, SessionBundle, columns
from syncer.errors import DocumentError
from syncer.warehouse import copy_text
from tests.unit.docs_factory import DELETE, SEED_ID, body_with_data, encode, patched, seed_data, seed_envelope

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _paths(node: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    steps = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    found = []
    for step, child in steps:
        found.append((*prefix, step))
        found.extend(_paths(child, (*prefix, step)))
    return found


SEED_PATHS = _paths(seed_data())
# Keys the random documents draw from: the sample's own field names and the OCPI 2.2 aliases.
FIELD_NAMES = sorted(
    {p[-1] for p in SEED_PATHS if isinstance(p[-1], str)}
    | {"start_date_time", "end_date_time", "evse_uid", "connector_id", "max_voltage", "maxElectricPower"}
)

offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
timestamps = st.builds(
    lambda moment, z: moment.isoformat().replace("+00:00", "Z" if z else "+00:00"),
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.none() | offsets
    ),
    st.booleans(),
)
decimals = st.decimals(allow_nan=False, allow_infinity=False)
scalars = st.one_of(
    st.none(),
    st.just(""),
    st.booleans(),
    st.integers(),
    decimals,
    decimals.map(str),  # numbers as text, some with huge exponents
    st.text(max_size=12),
    st.sampled_from(
        ["NaN", "Infinity", " 1.5 ", "1_000", "true", "FALSE", "0x10", "AMP03*1", SEED_ID.upper()]
    ),
    timestamps,
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=8,
)


# Small key spaces, so that ids repeat and differ only in case: the duplicate rules get exercised.
connectors = st.fixed_dictionaries(
    {"id": st.sampled_from(["1", "X", "x", None, ""])},
    optional={"voltage": scalars, "standard": scalars, "last_updated": timestamps | scalars},
)
evses = st.fixed_dictionaries(
    {"uid": st.sampled_from(["A", "a", "B", None, ""]), "id": st.sampled_from(["G1", "g1", None])},
    optional={
        "connectors": st.lists(connectors, max_size=4) | scalars,
        "last_updated": timestamps | scalars,
        "capabilities": st.lists(scalars, max_size=3) | scalars,
        "coordinates": st.fixed_dictionaries({"latitude": scalars, "longitude": scalars}) | scalars,
    },
)
locations = st.fixed_dictionaries(
    {"location_id": st.sampled_from(["L1", "l1", None, ""]), "evses": st.lists(evses, max_size=5)},
    optional={"last_modified_date": timestamps | scalars, "publish": scalars, "rating": scalars},
)
# Replacements: junk of any shape, or the values the vendor really sends for "nothing".
replacements = st.one_of(json_values, st.sampled_from([None, "", [], {}]), timestamps)


@st.composite
def mutated_bodies(draw: st.DrawFn) -> bytes:
    """The sample with random fields replaced, removed, re-cased or duplicated."""
    data = seed_data()
    if draw(st.booleans()):
        data["location"]["evses"] = draw(st.lists(evses, max_size=5))
    for path in draw(st.lists(st.sampled_from(SEED_PATHS), max_size=6)):
        dotted = ".".join(str(step) for step in path)
        action = draw(st.sampled_from(["set", "set", "delete", "upper", "duplicate"]))
        try:
            *parents, last = path
            node: Any = data
            for step in parents:
                node = node[step]
            current = node[last]
            if action == "set":
                patched(data, {dotted: draw(replacements)})
            elif action == "delete":
                patched(data, {dotted: DELETE})
            elif action == "upper" and isinstance(current, str):
                node[last] = current.upper()
            elif action == "duplicate" and isinstance(node, list):
                node.append(json.loads(dumps_exact(current), parse_float=Decimal))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed or replaced this path
    envelope = seed_envelope()
    envelope["data"] = data
    return encode(envelope)


requested_ids = st.sampled_from([SEED_ID, SEED_ID, SEED_ID, SEED_ID.upper(), "0" * 32])


@pytest.mark.slow
@FAST
@given(raw=mutated_bodies(), requested_id=requested_ids)
def test_mutated_samples_flatten_or_raise_document_error(raw: bytes, requested_id: str) -> None:
    check(raw, requested_id)


@FAST
@given(
    data=st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=4), json_values, max_size=10),
    version=timestamps,
    location=locations | json_values,
    with_id=st.sampled_from([True, True, True, False]),
)
@pytest.mark.slow
def test_random_documents_flatten_or_raise_document_error(
    data: dict[str, Any], version: str, location: Any, with_id: bool
) -> None:
    data.update(last_updated=version, location=location)
    if with_id:
        data["id"] = SEED_ID
    check(body_with_data(data), SEED_ID)


# Periods as the vendor sends them and worse: the COPY text the parser writes from the received
# texts must read back as the rows (check_rows): starts with and without a zone, in other
# spellings, numbers as text or as numbers, odd dimension types.
dimensions = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["ENERGY", "tab\there", "back\\slash", "\\N", "line\nbreak"]) | scalars,
        "volume": scalars | st.sampled_from(["007", "-0", "0.000", "1e3", " 2.5 ", "0.0000001"]),
    },
)
period_starts = timestamps | st.sampled_from(
    [
        "2024-01-02 03:04:05Z",
        "2024-01-02t03:04:05z",
        " 2024-01-02T03:04:05.1234Z ",
        "2024-01-02T03:04:05.5+05:30",
    ]
)
periods = st.fixed_dictionaries(
    {},
    optional={
        "start_date_time": period_starts | scalars,
        "start_datetime": period_starts,
        "dimensions": st.lists(dimensions, max_size=3) | scalars,
    },
)


@FAST
@given(charging_periods=st.lists(periods, max_size=4) | scalars)
def test_random_periods_flatten_or_raise_document_error(charging_periods: Any) -> None:
    data = seed_data()
    data["charging_periods"] = charging_periods
    check(body_with_data(data), SEED_ID)


@FAST
@given(raw=st.binary(max_size=200) | json_values.map(encode))
def test_arbitrary_bodies_raise_only_document_error(raw: bytes) -> None:
    check(raw, SEED_ID)


# JSON text no generator above writes, and the kind each must fail with wherever it appears.
HOSTILE_JSON = {
    b"NaN": "non_finite_number",
    b"-Infinity": "non_finite_number",
    b"1e999999": "number_out_of_range",
    b"-1.5E-999999": "number_out_of_range",
    b"1" * 5000: "number_out_of_range",  # past Python's integer conversion limit
    b"0." + b"1" * 200: "number_out_of_range",
    b'"a\\u0000b"': "bad_text",  # PostgreSQL refuses NUL in text
    b'"\\ud800"': "bad_text",  # a lone surrogate: not UTF-8
    b"[" * 10_000 + b"]" * 10_000: "too_deep",
    b"[" * 65 + b"]" * 65: "too_deep",
    b'{"a": 1, "a": 2}': "duplicate_key",
    b"tru": "invalid_json",
    b"--1": "invalid_json",
    b"'single'": "invalid_json",
}
HOLE = "@@hole@@"


@FAST
@given(path=st.sampled_from(SEED_PATHS), token=st.sampled_from(sorted(HOSTILE_JSON)))
def test_hostile_json_anywhere_fails_with_its_kind(path: tuple[str | int, ...], token: bytes) -> None:
    envelope = seed_envelope()
    patched(envelope["data"], {".".join(map(str, path)): HOLE})
    raw = encode(envelope).replace(f'"{HOLE}"'.encode(), token)
    result = outcome(raw, SEED_ID)
    assert isinstance(result, DocumentError)
    assert result.kind == HOSTILE_JSON[token]
    assert len(str(result)) < 300


def outcome(raw: bytes, requested_id: str) -> SessionBundle | DocumentError:
    try:
        return flatten_body(raw, requested_id)
    except DocumentError as error:  # anything else fails the test
        return error


def check(raw: bytes, requested_id: str) -> None:
    result = outcome(raw, requested_id)
    if isinstance(result, DocumentError):
        event(f"DocumentError {result.kind}")
        assert result.kind in ERROR_KINDS
        assert len(str(result)) < 300
    else:
        event(f"rows, location: {result.location is not None}")
        check_rows(result, raw, requested_id)


def check_rows(result: SessionBundle, raw: bytes, requested_id: str) -> None:
    session = result.session
    assert session.id == requested_id.lower()
    assert session.last_updated.tzinfo is UTC
    for row in (session, result.raw, result.location, *result.periods, *result.evses, *result.connectors):
        if row is not None:
            check_values(row)
    for key in (session.location_id, session.evse_uid, session.connector_id):
        assert key is None or key == key.lower()

    period_keys = [(p.session_id, p.period_index, p.dimension_index) for p in result.periods]
    assert len(set(period_keys)) == len(period_keys)
    assert all(sid == session.id and i >= 0 and j >= 0 for sid, i, j in period_keys)

    location = result.location
    if location is None:
        assert result.evses == ()
        assert result.connectors == ()
    else:
        assert location.location_id
        assert location.location_id == location.location_id.lower()
        assert location.gateway_id is None or location.gateway_id == location.gateway_id.lower()
    evse_keys = [(e.location_id, e.uid) for e in result.evses]
    assert len(set(evse_keys)) == len(evse_keys)
    for evse in result.evses:
        assert location is not None
        assert evse.location_id == location.location_id
        assert evse.uid
        assert evse.uid == evse.uid.lower()
        assert evse.gateway_id is None or evse.gateway_id == evse.gateway_id.lower()
        assert evse.capabilities is None or all(isinstance(c, str) and c for c in evse.capabilities)
    connector_keys = [(c.location_id, c.evse_uid, c.id) for c in result.connectors]
    assert len(set(connector_keys)) == len(connector_keys)
    for location_id, evse_uid, connector_id in connector_keys:
        assert (location_id, evse_uid) in evse_keys
        assert connector_id
        assert connector_id == connector_id.lower()

    assert isinstance(result.periods, PeriodRows)
    assert read_period_lines(copy_text.period_lines(result.periods)) == [
        (*row[:4], row.dimension_type, None if row.volume is None else row.volume.as_tuple())
        for row in result.periods
    ]

    assert result.raw.id == session.id
    assert result.raw.last_updated == session.last_updated
    sent = json.loads(raw.decode("utf-8-sig"), parse_float=Decimal)["data"]
    assert json.loads(result.raw.document, parse_float=Decimal) == sent


_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}


def read_period_lines(text: str) -> list[tuple[Any, ...]]:
    """COPY text lines read back as Python would: the instant each start names, and each
    volume's digits and exponent (what PostgreSQL's numeric keeps: value and scale)."""

    def field(value: str) -> str | None:
        return None if value == "\\N" else re.sub(r"\\(.)", lambda m: _UNESCAPE[m.group(1)], value)

    found = []
    for line in text.split("\n")[:-1]:
        session_id, i, j, start, kind, volume, run_id = map(field, line.split("\t"))
        assert run_id is None  # no run given: last_run_id is NULL
        found.append(
            (
                session_id,
                int(i or ""),
                int(j or ""),
                None if start is None else datetime.fromisoformat(start),
                kind,
                None if volume is None else Decimal(volume).as_tuple(),
            )
        )
    assert text.endswith("\n") or not text
    return found


def check_values(row: Any) -> None:
    """Every column of a row: aware UTC datetimes, finite decimals, no empty strings."""
    for column in columns(type(row)):
        value = getattr(row, column)
        if isinstance(value, datetime) and column.startswith("local_"):
            assert value.tzinfo is None, column  # a wall-clock reading in the location's zone
        elif isinstance(value, datetime):
            assert value.tzinfo is UTC, column
        elif isinstance(value, Decimal):
            assert value.is_finite(), column
            exponent = value.as_tuple().exponent
            assert isinstance(exponent, int)
            # PostgreSQL numeric: up to 131072 digits before the point, 16383 after it
            assert value.adjusted() < 131072 and -exponent <= 16383, column
        elif isinstance(value, str):
            assert value != "" or column.name == "document", column.name
            assert "\x00" not in value, column.name
            value.encode("utf-8")  # no lone surrogates
        else:
            assert value is None or isinstance(value, (bool, int, tuple)), column.name
