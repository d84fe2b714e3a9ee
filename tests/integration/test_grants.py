"""`syncer grant` on real PostgreSQL: a role granted analyst reads the data and the views and is
refused the worker's tables and any write; a writer role syncs but cannot change the schema; both
idempotent. And `--db-schema` puts every table and view in a named schema."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
import sqlalchemy as sa

from syncer.documents.flatten import flatten_body
from syncer.errors import ConfigError
from syncer.warehouse.grants import grant
from syncer.warehouse.migrate import migrate
from syncer.warehouse.store import Store
from tests.conftest import PG_PREFIX, _admin
from tests.unit.docs_factory import SEED_ID, body

pytestmark = pytest.mark.postgres


@pytest.fixture
async def role(pg_url: str) -> AsyncIterator[str]:
    name = f"{PG_PREFIX}role_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE ROLE "{name}" LOGIN')
    yield name
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(f'DROP OWNED BY "{name}"')  # its grants in this database
    finally:
        await conn.close()
    await _admin(f'DROP ROLE IF EXISTS "{name}"')


def as_role(url: str, role: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://{role}@")


async def test_an_analyst_reads_the_views_and_nothing_of_the_worker(pg_url: str, role: str) -> None:
    async with Store.open(pg_url) as store:
        await store.write([flatten_body(body(), SEED_ID)], now=datetime.now(UTC), run_id="r")
        await grant(store, "analyst", role)
        await grant(store, "analyst", role)  # idempotent
    conn = await asyncpg.connect(as_role(pg_url, role))
    try:
        assert (
            await conn.fetchval("SELECT connector_uid FROM session_facts")
            == "3fff37bfc17e66bc519c25fcfa65eaea"
        )
        assert await conn.fetchval("SELECT count(*) FROM charging_period_facts") == 20
        assert await conn.fetchval("SELECT count(*) FROM sync_runs") == 0
        for table in ("sync_queue", "raw_sessions", "sync_failures"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f"SELECT * FROM {table}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE sessions SET kwh = 0")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM locations")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE mine (x int)")
    finally:
        await conn.close()


async def test_a_writer_syncs_but_changes_no_schema(pg_url: str, role: str) -> None:
    async with Store.open(pg_url) as store:
        await grant(store, "writer", role)
        await grant(store, "writer", role)
    async with Store.open(as_role(pg_url, role)) as store:
        outcomes = await store.write([flatten_body(body(), SEED_ID)], now=datetime.now(UTC), run_id="w")
        await store.record_failures("w", [], at=datetime.now(UTC))
        async with store.engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT last_run_id FROM sessions")) == "w"
            with pytest.raises(sa.exc.ProgrammingError):
                await conn.execute(sa.text("CREATE TABLE mine (x int)"))
    assert list(outcomes.values()) == ["inserted"]


async def test_grant_refuses_a_missing_role_and_sqlite(pg_url: str, sqlite_url: str) -> None:
    async with Store.open(pg_url) as store:
        with pytest.raises(ConfigError, match="no role"):
            await grant(store, "analyst", "nobody_" + uuid.uuid4().hex[:6])
    async with Store.open(sqlite_url) as store:
        with pytest.raises(ConfigError, match="PostgreSQL only"):
            await grant(store, "analyst", "someone")


async def test_db_schema_holds_every_table_and_view(pg_url: str) -> None:
    async with Store.open(pg_url, schema="analytics") as store:
        await migrate(store)
        await store.write([flatten_body(body(), SEED_ID)], now=datetime.now(UTC), run_id="s")
        async with store.engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT count(*) FROM session_facts")) == 1
    conn = await asyncpg.connect(pg_url)
    try:
        where = await conn.fetch(
            "SELECT table_schema, count(*) AS n FROM information_schema.tables"
            " WHERE table_name IN ('sessions', 'session_facts', 'sync_queue') GROUP BY 1 ORDER BY 1"
        )
        assert {r["table_schema"]: r["n"] for r in where} == {
            "analytics": 3,
            "public": 3,
        }  # public: the template's
        assert await conn.fetchval("SELECT count(*) FROM analytics.sessions") == 1
        assert await conn.fetchval("SELECT count(*) FROM public.sessions") == 0
        comment = await conn.fetchval(
            "SELECT obj_description('analytics.session_facts'::regclass, 'pg_class')"
        )
        assert comment and comment.startswith("One row per session")
    finally:
        await conn.close()
