"""`syncer migrate` is idempotent and safe when two run at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from syncer import schema
from syncer.migrate import migrate
from syncer.store import Store
from tests.conftest import _admin, _pg_url


async def test_migrate_twice_is_a_no_op(database_url: str) -> None:
    store = Store.open(database_url)
    try:
        assert await migrate(store) == (schema.SCHEMA_VERSION, schema.SCHEMA_VERSION)
        assert await store.schema_version() == schema.SCHEMA_VERSION
    finally:
        await store.close()


async def test_fresh_sqlite_database_is_created(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert await store.schema_version() is None
        assert await migrate(store) == (0, schema.SCHEMA_VERSION)
    finally:
        await store.close()


@pytest.mark.postgres
async def test_two_migrations_at_once_on_postgresql(pg_template: str) -> None:
    name = "syncer_t_concurrent_migrate"
    await _admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    stores = [Store.open(_pg_url(name)) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate(s) for s in stores))
        assert all(after == schema.SCHEMA_VERSION for _, after in results)
        assert await stores[0].schema_version() == schema.SCHEMA_VERSION
    finally:
        for s in stores:
            await s.close()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
