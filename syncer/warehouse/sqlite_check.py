"""A SQLite file is checked when it is opened: a corrupt one is refused, not synced into.

`PRAGMA quick_check` reads every page once (a few seconds per GB) and finds broken b-trees,
pages that are not what they claim and out-of-order keys; a run that would touch only healthy
pages would otherwise exit 0 on a corrupt file. (It skips the index-to-table cross-check of
`integrity_check`, which takes much longer.)
"""

from __future__ import annotations

import sqlalchemy as sa

from syncer.errors import DatabaseUnavailable
from syncer.warehouse.store import Store


async def check(store: Store) -> None:
    """Raise `DatabaseUnavailable` (one line) when the store is a corrupt SQLite file."""
    if store.dialect != "sqlite":
        return
    path = store.engine.url.database or ""
    try:
        async with store.engine.connect() as conn:
            problems = [row[0] for row in (await conn.exec_driver_sql("PRAGMA quick_check(3)")).all()]
    except sa.exc.DBAPIError as error:  # "file is not a database", "database disk image is malformed"
        first = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        problems = [first]
    if problems != ["ok"]:
        found = " ".join("; ".join(str(p) for p in problems).split())  # one line
        raise DatabaseUnavailable(
            f"the SQLite file {path} is corrupt ({found[:300]}): restore it from a "
            "backup, or move it aside to start a new one"
        )
