"""Charging periods in PostgreSQL's COPY text format. Pure: no I/O.

The fast write path copies ~100 period rows a session. asyncpg's binary encoding of their
aware datetimes and Decimals (~1.9 and ~1.3 µs each) was the worker's biggest cost; PostgreSQL
reads the same values from text in C. The parser writes each document's periods from the texts
it received, where those texts mean exactly what the rows hold; `period_lines`
writes rows built any other way. Both give PostgreSQL the same values (tests hold them to it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from syncer.rows import PeriodRow

__all__ = ["NULL", "escape", "exact_time_text", "period_lines", "timestamp_text"]

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})

_EXACT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)", re.ASCII)
"""A timestamp text PostgreSQL reads as the very instant Python's `fromisoformat` does: full
date and time, at most microseconds, an explicit zone (never the server's TimeZone)."""


def escape(text: str) -> str:
    return text.translate(_ESCAPES)


def timestamp_text(value: datetime) -> str:
    if value.tzinfo is None:  # as the generic path's column type: never the server's TimeZone
        raise ValueError("naive datetime given to a UTC column")
    return value.isoformat()


def exact_time_text(received: object, value: datetime) -> str:
    """The text for `value`, which was read from `received`: that text itself when it is plain
    (no formatting: ~1.2 µs saved a period), else `value` written out."""
    if type(received) is str and _EXACT_TIME.fullmatch(received):
        return received
    return timestamp_text(value)


def period_lines(rows: Iterable[PeriodRow]) -> str:
    """COPY text lines for period rows, written from their values (the parser writes its own
    from the texts it received, the same way)."""
    lines: list[str] = []
    kinds: dict[str | None, str] = {None: NULL}
    last_start: datetime | None = None
    start_text = NULL
    for session_id, period_index, dimension_index, start, kind, volume in rows:
        if start is not last_start:  # the dimensions of a period share the object
            last_start = start
            start_text = NULL if start is None else timestamp_text(start)
        kind_text = kinds.get(kind)
        if kind_text is None:
            kind_text = kinds[kind] = escape(kind)  # type: ignore[arg-type]
        volume_text = NULL if volume is None else str(volume)
        lines.append(
            f"{escape(session_id)}\t{period_index}\t{dimension_index}\t{start_text}\t{kind_text}\t{volume_text}\n"
        )
    return "".join(lines)
