"""`syncer grant analyst|writer ROLE` on PostgreSQL: idempotent grants (`sql/grants/*.sql`).

- analyst: SELECT on the relations the data dictionary marks for analysts (the data tables,
  sync_runs for lineage, the views) and nothing on the worker's own tables (sync_queue,
  raw_sessions, sync_failures, syncer_schema): any earlier grant there is revoked.
- writer: what the worker needs on every table, TEMPORARY (the COPY fast path's staging
  tables), and no DDL (no CREATE on the schema).

The role and the relation names are bound (`set_config`), and quoted by the script (`%I`).
Grants are on the relations that exist: run it again after `syncer migrate` adds some.
"""

from __future__ import annotations

import sqlalchemy as sa

from syncer.errors import ConfigError
from syncer.warehouse.dictionary import RELATIONS
from syncer.warehouse.migrate import ensure_schema, run_script
from syncer.warehouse.store import Store

__all__ = ["KINDS", "grant"]

KINDS = ("analyst", "writer")


def relations(kind: str) -> tuple[list[str], list[str]]:
    """(relations the role gets, relations it must not have) for a kind of role."""
    if kind == "analyst":
        return [r.name for r in RELATIONS if r.analyst], [r.name for r in RELATIONS if not r.analyst]
    return [r.name for r in RELATIONS if r.kind == "table"], []


async def grant(store: Store, kind: str, role: str) -> list[str]:
    """Grant `role` what a `kind` role needs; returns the relations it can now use."""
    if kind not in KINDS:
        raise ConfigError(f"grant: the kind must be analyst or writer, not {kind!r}")
    if store.dialect != "postgresql":
        raise ConfigError("grant: PostgreSQL only (an SQLite file has no roles: protect the file instead)")
    await ensure_schema(store)
    given, refused = relations(kind)
    async with store.engine.begin() as conn:
        if not await conn.scalar(sa.text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": role}):
            raise ConfigError(
                f"grant: no role {role!r} on this server: create it first (CREATE ROLE … LOGIN)"
            )
        for name, value in (("role", role), ("read", ",".join(given)), ("none", ",".join(refused))):
            await conn.execute(
                sa.text("SELECT set_config(:name, :value, true)"),
                {"name": f"syncer.grant_{name}", "value": value},
            )
        await run_script(conn, f"grants/{kind}.postgresql")
    return given
