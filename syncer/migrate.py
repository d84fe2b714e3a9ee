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


def _v2_faster_loads(conn: Connection) -> None:
    """PostgreSQL only (SQLite keeps what it has; new SQLite files get the v1 tables as now
    defined). Measured in bench/ (docs/benchmark.md):
    - charging_periods.session_id is no longer a declared foreign key: PostgreSQL checked it
      once per period row (~50 per session), a third of the write's CPU. The write path keeps
      the relation by construction: periods are written only in the transaction that wrote
      their session, and the syncer never deletes sessions.
    - raw_sessions.document is compressed with lz4 where the server has it (PostgreSQL 14+
      built with lz4): a 7 KB document takes ~40% less time to store than with pglz, and ~16%
      more space.
    """
    if conn.dialect.name != "postgresql":
        return
    # ALTER and COMMENT take no bound parameters: the name comes from the catalog (quoted), the
    # note is a constant of this module.
    fks = conn.execute(sa.text(_PERIOD_FOREIGN_KEYS)).scalars().all()
    for name in fks:
        conn.execute(sa.text(f"ALTER TABLE charging_periods DROP CONSTRAINT {_quoted(conn, name)}"))
    conn.execute(sa.text(f"COMMENT ON COLUMN charging_periods.session_id IS '{_PERIOD_SESSION_NOTE}'"))
    if conn.execute(sa.text(_HAS_LZ4)).scalar():
        conn.execute(sa.text("ALTER TABLE raw_sessions ALTER COLUMN document SET COMPRESSION lz4"))


_PERIOD_FOREIGN_KEYS = """
SELECT conname FROM pg_constraint
WHERE conrelid = 'charging_periods'::regclass AND confrelid = 'sessions'::regclass AND contype = 'f'
"""
_HAS_LZ4 = """
SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'
"""
_PERIOD_SESSION_NOTE = (
    "sessions.id; written in the same transaction as its session (not a declared foreign key:"
    " checking one costs a lookup per period row)"
)


def _quoted(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


STEPS: dict[int, Step] = {1: _v1_create_tables, 2: _v2_faster_loads}
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
