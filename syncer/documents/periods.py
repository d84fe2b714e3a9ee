"""A session's `charging_periods` as rows (long format: one row per dimension). Pure.

`read_periods` is what the parser calls: the hot reader (`periods_fast`) first, and on a bad
value the plain reader below, which fails the same way but names the field. The plain reader is
the specification: the hot one must give the very same rows (a property test holds them to it).

A period without dimensions keeps one row with null type and volume, so its start is not lost.
Rows are keyed by the period's and the dimension's positions as received.
"""

from __future__ import annotations

from typing import Any

from syncer.documents import coerce, fields
from syncer.documents.periods_fast import START_NAMES, read_periods_fast
from syncer.documents.rows import PeriodRow, PeriodRows
from syncer.errors import DocumentError

__all__ = ["read_periods", "read_periods_plain"]


def read_periods(data: dict[str, Any], session_id: str) -> PeriodRows:
    """The period rows of a session's `data`, with the texts their values were read from."""
    raw_periods = coerce.items(data.get("charging_periods"), "charging_periods")
    try:
        return read_periods_fast(raw_periods, session_id)
    except DocumentError:
        read_periods_plain(raw_periods, session_id)  # fails the same way, naming the field
        raise


def read_periods_plain(raw_periods: list[Any], session_id: str) -> tuple[PeriodRow, ...]:
    """The specification of `read_periods_fast`: each value read through `fields`, naming it."""
    rows: list[PeriodRow] = []
    for i, raw in enumerate(raw_periods):
        at = f"charging_periods[{i}]"
        period = coerce.mapping(raw, at)
        if period is None:
            continue
        dimensions = []
        for j, raw_dimension in enumerate(coerce.items(period.get("dimensions"), at + ".dimensions")):
            dim_at = f"{at}.dimensions[{j}]"
            dimension = coerce.mapping(raw_dimension, dim_at)
            if dimension is not None:
                kind = fields.text(dimension, dim_at + ".", "type")
                dimensions.append((j, kind, fields.number(dimension, dim_at + ".", "volume")))
        start = fields.time(period, at + ".", *START_NAMES)
        rows.extend(PeriodRow(session_id, i, j, start, kind, volume) for j, kind, volume in dimensions)
        if not dimensions:
            rows.append(PeriodRow(session_id, i, 0, start))
    return tuple(rows)
