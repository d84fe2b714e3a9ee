"""The hot paths give what their plain twins give (differential property tests).

- `periods_fast.read_periods_fast` against `periods.read_periods_plain`: the same rows for any
  periods, and a failure exactly when the plain reader fails (with the same kind).
- `locations.LocationMemo.read` against `locations.read_location`: the same result, seen or not.
- `copy_text.period_lines` from the received texts against the same rows' values: the same text
  once read back.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.documents.locations import LocationMemo, read_location
from syncer.documents.periods import read_periods_plain
from syncer.documents.periods_fast import read_periods_fast
from syncer.documents.rows import PeriodRows
from syncer.errors import DocumentError
from syncer.warehouse import copy_text
from tests.unit.docs_factory import seed_data

_TIMES = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from(
        [
            "2024-01-02T03:04:05Z",
            "2024-01-02T03:04:05+00:00",
            "2024-01-02T03:04:05.123456+05:30",
            "2024-01-02T03:04:05",
            "2024-01-02 03:04:05z",
            " 2024-01-02T03:04:05Z ",
            "2024-01-02",
            "yesterday",
        ]
    ),
    st.integers(),
)
_VOLUMES = st.one_of(
    st.none(),
    st.just(""),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**6), max_value=10**6),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from(["1.50", "007", "-0.0", "1e3", " 2 ", "1_000", "NaN", "abc", "12.345678"]),
    st.booleans(),
)
_KINDS = st.one_of(
    st.none(), st.just(""), st.sampled_from(["ENERGY", "TIME", "POWER", "NEW_KIND\tx"]), st.integers()
)
_DIMENSION = st.one_of(
    st.fixed_dictionaries({"type": _KINDS, "volume": _VOLUMES}),
    st.none(),
    st.just("junk"),
)
_PERIOD = st.one_of(
    st.fixed_dictionaries(
        {"dimensions": st.one_of(st.lists(_DIMENSION, max_size=4), st.none(), st.just(""), st.just(3))},
        optional={"start_date_time": _TIMES, "start_datetime": _TIMES},
    ),
    st.none(),
    st.just(""),
    st.integers(),
)


def _plain(raw: list[Any]) -> Any:
    try:
        return read_periods_plain(raw, "s1")
    except DocumentError as error:
        return error.kind


def _fast(raw: list[Any]) -> Any:
    try:
        return read_periods_fast(raw, "s1")
    except DocumentError as error:
        return error.kind


@settings(max_examples=400, deadline=None)
@given(st.lists(_PERIOD, max_size=5))
def test_the_hot_period_reader_gives_the_plain_readers_rows_and_failures(raw: list[Any]) -> None:
    plain, fast = _plain(raw), _fast(raw)
    if isinstance(plain, str):
        assert fast == plain
    else:
        assert isinstance(fast, PeriodRows)
        assert tuple(fast) == plain
        assert len(fast.received) == len(fast)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PERIOD, max_size=5))
def test_copy_lines_from_received_texts_equal_those_from_the_values(raw: list[Any]) -> None:
    fast = _fast(raw)
    if isinstance(fast, str):
        return
    from_texts = copy_text.period_lines(fast)
    from_values = copy_text.period_lines(tuple(fast))
    assert _read_back(from_texts) == _read_back(from_values)


def _read_back(lines: str) -> list[tuple[Any, ...]]:
    """COPY text lines as PostgreSQL would read them: instants and numbers by value."""
    from datetime import datetime

    out = []
    for line in lines.splitlines():
        session, i, j, start, kind, volume, run_id = line.split("\t")
        assert run_id == copy_text.NULL  # no run given: last_run_id NULL
        out.append(
            (
                session,
                int(i),
                int(j),
                None if start == copy_text.NULL else datetime.fromisoformat(start.replace("Z", "+00:00")),
                kind,
                None if volume == copy_text.NULL else Decimal(volume),
            )
        )
    return out


_LOCATION_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.none(), st.text(max_size=8), st.integers()),
        "time_zone": st.sampled_from(["IST", "Europe/Berlin", "", None]),
        "coordinates": st.one_of(
            st.fixed_dictionaries({"latitude": _VOLUMES, "longitude": _VOLUMES}), st.just("north")
        ),
        "location_id": st.one_of(st.none(), st.just(""), st.text(alphabet="abcXYZ-", min_size=1, max_size=6)),
        "evses": st.one_of(st.none(), st.just([]), st.just([{"uid": "E1", "connectors": []}])),
    },
)


def _read(reader: Any, loc: dict[str, Any], session_location_id: str | None) -> Any:
    try:
        return reader(loc, session_location_id)
    except DocumentError as error:
        return error.kind, str(error)


@settings(max_examples=200, deadline=None)
@given(_LOCATION_CHANGES, st.one_of(st.none(), st.just("from-session")))
def test_the_location_memo_gives_what_a_read_gives(
    changes: dict[str, Any], session_location_id: str | None
) -> None:
    memo = LocationMemo(max_key_bytes=1 << 16)
    loc = {**copy.deepcopy(seed_data()["location"]), **changes}
    direct = _read(read_location, loc, session_location_id)
    assert _read(memo.read, loc, session_location_id) == direct  # first read: a miss
    assert _read(memo.read, copy.deepcopy(loc), session_location_id) == direct  # then a hit
