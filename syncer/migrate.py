"""Schema creation and upgrades: idempotent, and safe when two run at once.

On PostgreSQL a transaction-scoped advisory lock serialises concurrent `syncer migrate`s;
on SQLite `BEGIN IMMEDIATE` does the same. Each step runs once and is recorded in
`syncer_schema`; a database newer than this release is refused rather than touched.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from syncer import schema
from syncer.errors import DatabaseUnavailable
from syncer.store import Store

_LOCK_KEY = 0x5_1C_E5  # any constant shared by every syncer process

Step = Callable[[Connection], None]


def _v1_create_tables(conn: Connection) -> None:
    SQLModel.metadata.create_all(conn, checkfirst=True)


STEPS: dict[int, Step] = {1: _v1_create_tables}
assert max(STEPS) == schema.SCHEMA_VERSION


async def migrate(store: Store) -> tuple[int, int]:
    """Bring the schema to this release's version; returns (version before, version after)."""
    before = await store.schema_version()
    if before is not None and before > schema.SCHEMA_VERSION:
        raise DatabaseUnavailable(
            f"the database schema is version {before}, newer than this syncer "
            f"({schema.SCHEMA_VERSION}): upgrade syncer"
        )
    if before == schema.SCHEMA_VERSION:
        return before, before
    async with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        await conn.run_sync(lambda c: schema.SchemaVersion.__table__.create(c, checkfirst=True))  # type: ignore[attr-defined]
        table = schema.SchemaVersion.__table__  # type: ignore[attr-defined]
        current = await conn.scalar(sa.select(sa.func.max(table.c.version))) or 0
        for version in sorted(v for v in STEPS if v > current):
            await conn.run_sync(STEPS[version])
            await conn.execute(sa.insert(table).values(version=version, applied_at=datetime.now(UTC)))
    return before or 0, schema.SCHEMA_VERSION


async def ensure_schema(store: Store) -> None:
    """Migrate when needed (a no-op costing one query when the schema is current)."""
    await migrate(store)
