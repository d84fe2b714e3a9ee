"""Charging periods in PostgreSQL's COPY text format. Pure: no I/O.

The fast write path copies ~50 period rows a session. asyncpg's binary encoding of their aware
datetimes and Decimals was the worker's biggest cost (docs/benchmark.md); PostgreSQL reads the
same values from text in C. Rows from the hot reader carry the texts their starts and
volumes were read from where those say exactly what the value is (`PeriodRows.received`):
those are copied as they are, anything else is written from its value. Both give PostgreSQL
the same values (tests hold them to it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from syncer.documents.rows import PeriodRow, PeriodRows

__all__ = ["NULL", "escape", "period_lines", "timestamp_text"]

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_NO_TEXTS: tuple[None, None] = (None, None)


def escape(text: str) -> str:
    return text.translate(_ESCAPES)


def timestamp_text(value: datetime) -> str:
    if value.tzinfo is None:  # as the generic path's column type: never the server's TimeZone
        raise ValueError("naive datetime given to a UTC column")
    return value.isoformat()


def period_lines(rows: Sequence[PeriodRow], run_text: str = NULL) -> str:
    """COPY text lines for period rows: from the texts they were read from where they carry
    them (`PeriodRows`), else from their values; `run_text` (COPY text, escaped) ends each line
    as the `last_run_id` column."""
    received = rows.received if type(rows) is PeriodRows else None
    lines: list[str] = []
    kinds: dict[str | None, str] = {None: NULL}
    session_texts: dict[str, str] = {}
    last_start: datetime | None = None
    start_from_value = NULL
    for k, (session_id, period_index, dimension_index, start, kind, volume) in enumerate(rows):
        start_text, volume_text = received[k] if received is not None else _NO_TEXTS
        if start_text is None:
            if start is not last_start:  # the dimensions of a period share the object
                last_start = start
                start_from_value = NULL if start is None else timestamp_text(start)
            start_text = start_from_value
        if volume_text is None:
            volume_text = NULL if volume is None else str(volume)
        kind_text = kinds.get(kind)
        if kind_text is None:
            kind_text = kinds[kind] = escape(kind)  # type: ignore[arg-type]
        session_text = session_texts.get(session_id)
        if session_text is None:
            session_text = session_texts[session_id] = escape(session_id)
        lines.append(
            f"{session_text}\t{period_index}\t{dimension_index}\t{start_text}\t{kind_text}\t{volume_text}"
            f"\t{run_text}\n"
        )
    return "".join(lines)
