"""Versioned upsert statements built from the one schema, for PostgreSQL and SQLite alike.

Every statement is `INSERT … ON CONFLICT (key) DO UPDATE SET … WHERE <incoming is newer>`,
so a row only changes when its version strictly increases (or, with `force`, stays equal:
`syncer reprocess` rewrites rows from the stored raw documents).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from syncer.documents.rows import ConnectorRow, EvseRow, LocationRow, PeriodRow, RawRow, SessionRow, columns

Row = SessionRow | PeriodRow | LocationRow | EvseRow | ConnectorRow | RawRow

_FIELDS: dict[type[Any], tuple[str, ...]] = {
    cls: columns(cls) for cls in (SessionRow, PeriodRow, LocationRow, EvseRow, ConnectorRow, RawRow)
}


def params(rows: Iterable[Row], **extra: Any) -> list[dict[str, Any]]:
    """Rows as bind-parameter dicts (plus columns the store fills, like `synced_at`)."""
    out = []
    for row in rows:
        names = _FIELDS[type(row)]
        values = {name: getattr(row, name) for name in names}
        values.update(extra)
        out.append(values)
    return out


def _insert(dialect: str, table: sa.Table) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def versioned_upsert(
    dialect: str, table: sa.Table, key: Sequence[str], version: str, *, force: bool = False
) -> Any:
    """Insert, or update every non-key column when the incoming `version` is newer.

    A stored NULL version is overwritten by any non-NULL one; an incoming NULL version never
    overwrites a stored row (we cannot tell it is newer)."""
    stmt = _insert(dialect, table)
    stored, incoming = table.c[version], stmt.excluded[version]
    newer = (incoming >= stored) if force else (incoming > stored)
    guard = sa.or_(newer, sa.and_(stored.is_(None), incoming.is_not(None)))
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in key}
    return stmt.on_conflict_do_update(index_elements=list(key), set_=updates, where=guard)


def plain_upsert(dialect: str, table: sa.Table, key: Sequence[str]) -> Any:
    """Insert, or overwrite: for rows already guarded by their session's version."""
    stmt = _insert(dialect, table)
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in key}
    return stmt.on_conflict_do_update(index_elements=list(key), set_=updates)


def newest_by_key(rows: Iterable[Any], key: Sequence[str], version: str) -> list[Any]:
    """One row per key, the newest version winning (None counts as oldest); sorted by key so
    concurrent writers lock rows in the same order (no deadlocks between batches)."""
    best: dict[tuple[Any, ...], Any] = {}
    for row in rows:
        k = tuple(getattr(row, name) for name in key)
        current = best.get(k)
        if current is None or _later(getattr(row, version), getattr(current, version)):
            best[k] = row
    return [best[k] for k in sorted(best)]


def _later(a: datetime | None, b: datetime | None) -> bool:
    if a is None:
        return False
    return b is None or a >= b


LOCATION_KEY = ("location_id",)
EVSE_KEY = ("location_id", "uid")
CONNECTOR_KEY = ("location_id", "evse_uid", "id")


def place_rows(bundles: Iterable[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """The distinct locations, evses and connectors of a batch, newest snapshot of each, in key
    order (both write paths lock them in this order, so concurrent writers never deadlock)."""
    bundles = list(bundles)
    return (
        newest_by_key((b.location for b in bundles if b.location), LOCATION_KEY, "last_modified_date"),
        newest_by_key((e for b in bundles for e in b.evses), EVSE_KEY, "last_updated"),
        newest_by_key((c for b in bundles for c in b.connectors), CONNECTOR_KEY, "last_updated"),
    )
