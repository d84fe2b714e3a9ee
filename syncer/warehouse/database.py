"""Engine creation for both backends: URL normalisation, SQLite pragmas and write locking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from syncer.errors import ConfigError


def async_url(url: str) -> str:
    """`postgresql://…` → asyncpg driver; `sqlite:///path` → aiosqlite driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    for prefix in ("sqlite+aiosqlite://", "sqlite://"):
        if url.startswith(prefix):
            return "sqlite+aiosqlite://" + url[len(prefix) :]
    raise ConfigError("--database-url: must be sqlite:///PATH or postgresql://USER@HOST/DB")


def create_engine(url: str, *, pool_size: int = 5, schema: str | None = None) -> AsyncEngine:
    """`hide_parameters`: bound values (ids, documents) never appear in error messages.
    `schema` (PostgreSQL, `--db-schema`): every connection's search_path, so every table and
    view, and every statement naming them unqualified, is in that schema."""
    full = async_url(url)
    if schema is not None and not full.startswith("postgresql"):
        raise ConfigError("--db-schema: only for PostgreSQL (SQLite has no schemas)")
    if full.startswith("sqlite"):
        path = full.removeprefix("sqlite+aiosqlite:///")
        if path and path != ":memory:" and not Path(path).parent.is_dir():
            raise ConfigError(f"--database-url: no such directory: {Path(path).parent}")
        engine = create_async_engine(full, connect_args={"timeout": 60}, hide_parameters=True)
        _sqlite_setup(engine)
        return engine
    connect_args: dict[str, Any] = {}
    if schema is not None:
        connect_args["server_settings"] = {"search_path": schema}
    return create_async_engine(
        full, pool_size=pool_size, max_overflow=pool_size, hide_parameters=True, connect_args=connect_args
    )


def _sqlite_setup(engine: AsyncEngine) -> None:
    """WAL for concurrent readers, enforced foreign keys, and `BEGIN IMMEDIATE` for every
    transaction, so a writer takes the write lock up front (one writer at a time, no
    upgrade deadlocks), as the SQLAlchemy docs recommend for pysqlite/aiosqlite."""

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable database url>"
