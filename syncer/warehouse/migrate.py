"""Schema creation and upgrades: idempotent, and safe when two run at once.

- A new database gets the current tables from the one schema definition (`schema.py`,
  SQLAlchemy Core builds the DDL for either backend) and is stamped with the current version.
- An older database gets each versioned script after its version, in order:
  `sql/migrations/NNNN_<what>.<dialect>.sql` (a version with no script for a dialect changes
  nothing there). A test upgrades a database made by version 2 and compares it with a new one.
- Both then run `sql/setup.<dialect>.sql` (idempotent settings), the views in `sql/views/` and,
  on PostgreSQL, `sql/comments.postgresql.sql` (generated from the data dictionary).

On PostgreSQL a transaction-scoped advisory lock serialises concurrent `syncer migrate`s; on
SQLite `BEGIN IMMEDIATE` does the same. Each version is recorded in `syncer_schema`; a database
newer than this release is refused rather than touched.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib import resources

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from syncer.errors import DatabaseUnavailable
from syncer.warehouse.sql_files import sql_text
from syncer.warehouse.store import Store
from syncer.warehouse.tables import SCHEMA_VERSIONS

VIEWS = ("session_facts", "charging_period_facts", "daily_location_energy")
"""The analyst views, `sql/views/<name>.<dialect>.sql`, created in this order (later ones use earlier)."""
_LOCK_KEY = 0x5_1C_E5  # any constant shared by every syncer process
_SCRIPT = re.compile(r"(\d{4})_[a-z0-9_]+\.(postgresql|sqlite)\.sql")


def _scripts() -> dict[int, dict[str, str]]:
    """The versioned scripts: version -> dialect -> script name (under sql/)."""
    found: dict[int, dict[str, str]] = {1: {}}
    for entry in resources.files("syncer.sql").joinpath("migrations").iterdir():
        match = _SCRIPT.fullmatch(entry.name)
        if match:
            found.setdefault(int(match[1]), {})[match[2]] = f"migrations/{entry.name.removesuffix('.sql')}"
    return found


SCRIPTS = _scripts()
SCHEMA_VERSION = max(SCRIPTS)
"""This release's schema version: that of its newest script (1: the first tables)."""


def statements(script: str) -> list[str]:
    """A script's statements: each ends with `;` at the end of a line, outside `$$` bodies."""
    found: list[str] = []
    current: list[str] = []
    in_body = False
    for line in script.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current.append(line)
        if line.count("$$") % 2:
            in_body = not in_body
        if not in_body and line.rstrip().endswith(";"):
            found.append("\n".join(current))
            current = []
    if current:
        found.append("\n".join(current))
    return found


async def run_script(conn: AsyncConnection, name: str) -> None:
    """Run `sql/<name>.sql` statement by statement (it takes no parameters)."""
    for statement in statements(sql_text(name)):
        await conn.exec_driver_sql(statement)


async def migrate(store: Store) -> tuple[int, int]:
    """Bring the schema to this release's version; returns (version before, version after)."""
    before = await store.schema_version()
    if before is not None and before > SCHEMA_VERSION:
        raise DatabaseUnavailable(
            f"the database schema is version {before}, newer than this syncer "
            f"({SCHEMA_VERSION}): upgrade syncer"
        )
    if before == SCHEMA_VERSION:
        return before, before
    dialect = store.dialect
    async with store.engine.begin() as conn:
        if dialect == "postgresql":
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))
            if store.schema is not None:  # --db-schema: bound, the script quotes it (%I)
                await conn.execute(
                    sa.text("SELECT set_config('syncer.db_schema', :s, true)"), {"s": store.schema}
                )
                await run_script(conn, "create_schema.postgresql")
        table = SCHEMA_VERSIONS
        await conn.run_sync(lambda c: table.create(c, checkfirst=True))
        current = await conn.scalar(sa.select(sa.func.max(table.c.version))) or 0
        if current == 0:  # a new database: the current tables, as defined
            await conn.run_sync(lambda c: SQLModel.metadata.create_all(c, checkfirst=True))
            todo = [SCHEMA_VERSION]
        else:
            todo = sorted(v for v in SCRIPTS if v > current)
            for version in todo:
                script = SCRIPTS[version].get(dialect)
                if script:
                    await run_script(conn, script)
        if todo:
            await apply_setup(conn, dialect)
        applied = datetime.now(UTC)
        for version in todo:
            await conn.execute(sa.insert(table).values(version=version, applied_at=applied))
    return before or 0, SCHEMA_VERSION


async def apply_setup(conn: AsyncConnection, dialect: str) -> None:
    """The idempotent part, run after every version change: `sql/setup.<dialect>.sql`, the views,
    and on PostgreSQL the data dictionary's `COMMENT ON` every table, view and column."""
    await run_script(conn, f"setup.{dialect}")
    for view in VIEWS:
        await run_script(conn, f"views/{view}.{dialect}")
    if dialect == "postgresql":
        await run_script(conn, "comments.postgresql")


async def ensure_schema(store: Store) -> None:
    """Migrate when needed (a no-op costing one query when the schema is current)."""
    await migrate(store)
