"""A database made by an earlier release, upgraded by `migrate`, has exactly the schema a new
database gets: the versioned scripts in sql/migrations/ and the one schema definition agree.

tests/fixtures/schema_v2/ holds the DDL `syncer migrate` made at schema version 2, dumped from
that release (pg_dump -s; SQLite's own schema text).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from syncer.warehouse.migrate import SCHEMA_VERSION, migrate, statements
from syncer.warehouse.store import Store
from tests.conftest import PG_PREFIX, _admin, _pg_url

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "schema_v2"


def _shape(sync_conn: sa.Connection) -> dict[str, Any]:
    inspector = sa.inspect(sync_conn)
    shape: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        columns = {
            c["name"]: (str(c["type"]).split("(")[0], c["nullable"]) for c in inspector.get_columns(table)
        }
        key = tuple(inspector.get_pk_constraint(table)["constrained_columns"])
        indexes = sorted(tuple(i["column_names"]) for i in inspector.get_indexes(table))
        shape[table] = (columns, key, indexes)
    for view in sorted(inspector.get_view_names()):
        shape[f"view {view}"] = sorted(c["name"] for c in inspector.get_columns(view))
    return shape


async def _shape_of(url: str) -> dict[str, Any]:
    store = Store.open(url)
    try:
        async with store.engine.connect() as conn:
            return await conn.run_sync(_shape)
    finally:
        await store.close()


async def _load_v2(url: str, dialect: str) -> None:
    store = Store.open(url)
    try:
        async with store.engine.begin() as conn:
            for statement in statements((FIXTURES / f"{dialect}.sql").read_text(encoding="utf-8")):
                await conn.exec_driver_sql(statement)
            for version in (1, 2):
                await conn.execute(
                    sa.text("INSERT INTO syncer_schema (version, applied_at) VALUES (:v, CURRENT_TIMESTAMP)"),
                    {"v": version},
                )
            await conn.execute(
                sa.text("INSERT INTO sessions (id, last_updated) VALUES ('kept', CURRENT_TIMESTAMP)")
            )
    finally:
        await store.close()


async def _upgraded_and_new(old: str, new: str, dialect: str) -> tuple[dict[str, Any], dict[str, Any]]:
    await _load_v2(old, dialect)
    for url in (old, new):
        store = Store.open(url)
        try:
            assert (await migrate(store))[1] == SCHEMA_VERSION
            assert await store.schema_version() == SCHEMA_VERSION
        finally:
            await store.close()
    store = Store.open(old)
    try:
        async with store.engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT count(*) FROM sessions WHERE id = 'kept'")) == 1
    finally:
        await store.close()
    return await _shape_of(old), await _shape_of(new)


def test_a_version_2_sqlite_file_upgrades_to_the_new_schema(tmp_path: Path) -> None:
    upgraded, new = asyncio.run(
        _upgraded_and_new(f"sqlite:///{tmp_path / 'old.db'}", f"sqlite:///{tmp_path / 'new.db'}", "sqlite")
    )
    assert upgraded == new


@pytest.fixture
def two_empty_pg_databases(pg_template: str) -> Iterator[tuple[str, str]]:
    names = [f"{PG_PREFIX}u_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    for name in names:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield _pg_url(names[0]), _pg_url(names[1])
    for name in names:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.postgres
def test_a_version_2_postgresql_database_upgrades_to_the_new_schema(
    two_empty_pg_databases: tuple[str, str],
) -> None:
    old, new = two_empty_pg_databases
    upgraded, fresh = asyncio.run(_upgraded_and_new(old, new, "postgresql"))
    assert upgraded == fresh
