"""Databases that outlive one test: a scenario runs once per backend and many small tests read
what it left (each bad document, each hostile id gets its own test without its own run)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import PG_PREFIX, _admin, _migrate, _pg_url


@pytest.fixture(scope="module")
def module_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('faults') / 'syncer.db'}"
    asyncio.run(_migrate(url))
    return url


@pytest.fixture(scope="module")
def module_pg_url(pg_template: str) -> Iterator[str]:
    name = f"{PG_PREFIX}f_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield _pg_url(name)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def module_database_url(request: pytest.FixtureRequest) -> str:
    """One database per backend for a whole module."""
    name = "module_sqlite_url" if request.param == "sqlite" else "module_pg_url"
    return str(request.getfixturevalue(name))
