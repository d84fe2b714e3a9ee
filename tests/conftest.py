"""Real databases for tests: a PostgreSQL template database cloned per test, and a SQLite file.

PostgreSQL is at SYNCER_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres); every
database made starts with SYNCER_TEST_DB_PREFIX (default `syncer_test_`).
When it is unreachable, PostgreSQL tests skip on a laptop but FAIL when CI=true.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from syncer.gateway import retry
from syncer.warehouse.migrate import migrate
from syncer.warehouse.store import Store

PG_ADMIN_URL = os.environ.get("SYNCER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_PREFIX = os.environ.get("SYNCER_TEST_DB_PREFIX", "syncer_test_")
"""Every database the tests make starts with this (on a shared server, give each checkout its own)."""
_TEMPLATE = f"{PG_PREFIX}tpl_{os.getpid()}"


def _pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def _admin(*statements: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    store = Store.open(url)
    try:
        await migrate(store)
    finally:
        await store.close()


@pytest.fixture(autouse=True)
def _no_backoff() -> Iterator[None]:
    """Retries wait zero seconds in tests (stamina-style switch)."""
    retry.set_testing(True)
    yield
    retry.set_testing(False)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    try:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{_TEMPLATE}"', f'CREATE DATABASE "{_TEMPLATE}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        message = f"PostgreSQL unreachable at {PG_ADMIN_URL}: {error!r}"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(message)
    asyncio.run(_migrate(_pg_url(_TEMPLATE)))
    yield _TEMPLATE
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)'))


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database cloned from the template."""
    name = f"{PG_PREFIX}{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield _pg_url(name)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, migrated SQLite database file."""
    url = f"sqlite:///{tmp_path / 'syncer.db'}"
    asyncio.run(_migrate(url))
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """The same test on both backends."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))
