"""The hot twin of `periods.read_periods_plain`: the same rows, about a hundred values a document.

It builds no field path per value and checks the common types inline; a value it cannot take
raises `DocumentError` with a blank message, and `periods.read_periods` then runs the plain
reader to name the field. Beside the rows it keeps the text each start and volume was read
from where that text says exactly what the value is (`PeriodRows.received`), so a writer need
not format the value again. A property test holds the two readers to the same rows and the same
failures (tests/unit/test_periods_twins.py).
"""

from __future__ import annotations

import re
from typing import Any

from syncer.documents import coerce
from syncer.documents.fields import pick
from syncer.documents.numbers import PLAIN_DECIMALS
from syncer.documents.rows import PeriodRow, PeriodRows

__all__ = ["EXACT_TIME", "START_NAMES", "read_periods_fast"]

START_NAMES = ("start_date_time", "start_datetime")

EXACT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)", re.ASCII)
"""A timestamp text that names one instant whoever reads it: full date and time, at most
microseconds, an explicit zone (never a reader's local time zone)."""


def read_periods_fast(raw_periods: list[Any], session_id: str) -> PeriodRows:
    mapping, items, text, decimal, timestamp = (
        coerce.mapping,
        coerce.items,
        coerce.text,
        coerce.decimal,
        coerce.timestamp,
    )
    known = PLAIN_DECIMALS  # `decimal`'s own memo, looked up here first: no call on a hit
    exact_time = EXACT_TIME.fullmatch
    new_row = tuple.__new__  # a named tuple's own __new__ is Python code, slower
    rows: list[PeriodRow] = []
    received: list[tuple[str | None, str | None]] = []
    for i, raw in enumerate(raw_periods):
        period = raw if type(raw) is dict else mapping(raw, "")
        if period is None:
            continue
        dimensions = period.get("dimensions")
        if type(dimensions) is not list:
            dimensions = items(dimensions, "")
        received_start = pick(period, START_NAMES)[1]
        start = timestamp(received_start, "")
        start_text = received_start if start is not None and exact_time(received_start) else None
        first = len(rows)
        for j, raw_dimension in enumerate(dimensions):
            dimension = raw_dimension if type(raw_dimension) is dict else mapping(raw_dimension, "")
            if dimension is None:
                continue
            kind = dimension.get("type")
            if type(kind) is not str or not kind:
                kind = text(None if kind == "" else kind, "")
            volume: Any = dimension.get("volume")
            number = known.get(volume) if type(volume) is str else None
            if number is None:
                number = decimal(None if volume == "" else volume, "")
                volume_text = None
            else:
                volume_text = volume  # a plain number text (the memo holds no other)
            rows.append(new_row(PeriodRow, (session_id, i, j, start, kind, number)))
            received.append((start_text, volume_text))
        if len(rows) == first:
            rows.append(PeriodRow(session_id, i, 0, start))
            received.append((start_text, None))
    result = PeriodRows(rows)
    result.received = tuple(received)
    return result
