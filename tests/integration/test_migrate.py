"""`syncer migrate` is idempotent and safe when two run at once."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncer.warehouse.migrate import SCHEMA_VERSION, migrate
from syncer.warehouse.store import Store
from tests.conftest import PG_PREFIX, _admin, _pg_url


async def test_migrate_twice_is_a_no_op(database_url: str) -> None:
    store = Store.open(database_url)
    try:
        assert await migrate(store) == (SCHEMA_VERSION, SCHEMA_VERSION)
        assert await store.schema_version() == SCHEMA_VERSION
    finally:
        await store.close()


async def test_fresh_sqlite_database_is_created(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert await store.schema_version() is None
        assert await migrate(store) == (0, SCHEMA_VERSION)
    finally:
        await store.close()


@pytest.mark.postgres
async def test_two_migrations_at_once_on_postgresql(pg_template: str) -> None:
    name = f"{PG_PREFIX}concurrent_migrate_{os.getpid()}"
    await _admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    stores = [Store.open(_pg_url(name)) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate(s) for s in stores))
        assert all(after == SCHEMA_VERSION for _, after in results)
        assert await stores[0].schema_version() == SCHEMA_VERSION
    finally:
        for s in stores:
            await s.close()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
async def test_v1_database_is_upgraded_to_v2(pg_url: str) -> None:
    """A database left at version 1 (periods with a declared foreign key, raw documents
    compressed with pglz) gets v2: the foreign key dropped, lz4 for the raw documents, and
    its rows untouched."""
    store = Store.open(pg_url)
    try:
        async with store.engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "ALTER TABLE charging_periods ADD CONSTRAINT charging_periods_session_id_fkey"
                    " FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE"
                )
            )
            await conn.execute(sa.text("ALTER TABLE raw_sessions ALTER COLUMN document SET COMPRESSION pglz"))
            await conn.execute(
                sa.text("DELETE FROM syncer_schema")
            )  # a new database records only its version
            await conn.execute(sa.text("INSERT INTO syncer_schema (version, applied_at) VALUES (1, now())"))
            await conn.execute(sa.text("INSERT INTO sessions (id, last_updated) VALUES ('s1', now())"))
            await conn.execute(
                sa.text(
                    "INSERT INTO charging_periods (session_id, period_index, dimension_index) VALUES ('s1', 0, 0)"
                )
            )
        assert await store.schema_version() == 1

        assert await migrate(store) == (1, SCHEMA_VERSION)

        async with store.engine.connect() as conn:
            fks = await conn.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_constraint WHERE conrelid = 'charging_periods'::regclass AND contype = 'f'"
                )
            )
            compression = await conn.scalar(
                sa.text(
                    "SELECT attcompression::text FROM pg_attribute"
                    " WHERE attrelid = 'raw_sessions'::regclass AND attname = 'document'"
                )
            )
            note = await conn.scalar(sa.text("SELECT col_description('charging_periods'::regclass, 1)"))
            periods = await conn.scalar(
                sa.text("SELECT count(*) FROM charging_periods WHERE session_id = 's1'")
            )
        assert fks == 0
        assert compression == "l"
        assert note is not None and note.startswith("sessions.id")
        assert periods == 1
        assert await migrate(store) == (SCHEMA_VERSION, SCHEMA_VERSION)
    finally:
        await store.close()


@pytest.mark.postgres
async def test_fresh_postgresql_database_has_no_period_foreign_key(pg_url: str) -> None:
    store = Store.open(pg_url)
    try:
        async with store.engine.connect() as conn:
            kinds = (
                (
                    await conn.execute(
                        sa.text(
                            "SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' ORDER BY 1"
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert kinds == ["raw_sessions"]  # one check per session there; none per period row
    finally:
        await store.close()
