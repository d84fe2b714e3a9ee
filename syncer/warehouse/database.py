"""Engine creation for both backends: URL normalisation, SQLite pragmas and write locking,
PostgreSQL timeouts and keepalives (a dead server or a black-holed network is noticed, not
waited for forever)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from syncer.errors import ConfigError
from syncer.warehouse import pg_url

CONNECT_TIMEOUT_S = 10.0
"""Seconds to connect (and authenticate), unless the URL says `connect_timeout`."""
DEFAULT_STATEMENT_TIMEOUT_S = 60.0
"""Seconds the client waits for one statement's answer (`--db-timeout`)."""
TCP_KEEPALIVE = {"TCP_KEEPIDLE": 30, "TCP_KEEPINTVL": 10, "TCP_KEEPCNT": 3, "TCP_USER_TIMEOUT": 60_000}
"""Our side of each connection: probe an idle connection after 30 s, give up after ~1 min, and
drop a connection whose sent data stays unacknowledged for 60 s (a network black hole)."""


def async_url(url: str) -> str:
    """`postgresql://…` → asyncpg driver; `sqlite:///path` → aiosqlite driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    for prefix in ("sqlite+aiosqlite://", "sqlite://"):
        if url.startswith(prefix):
            return "sqlite+aiosqlite://" + url[len(prefix) :]
    raise ConfigError("--database-url: must be sqlite:///PATH or postgresql://USER@HOST/DB")


def create_engine(
    url: str,
    *,
    pool_size: int = 5,
    schema: str | None = None,
    statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT_S,
) -> AsyncEngine:
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
    try:
        parsed = sa.engine.make_url(full)
    except sa.exc.ArgumentError:
        raise ConfigError(
            "--database-url: cannot parse it (URL-encode special characters of the password, e.g. @ as %40)"
        ) from None
    bare, connect_args = pg_url.translate(
        parsed, connect_timeout=min(CONNECT_TIMEOUT_S, statement_timeout), command_timeout=statement_timeout
    )
    if schema is not None:
        connect_args["server_settings"]["search_path"] = schema
    engine = create_async_engine(
        bare,
        pool_size=pool_size,
        max_overflow=pool_size,
        hide_parameters=True,
        pool_pre_ping=True,
        connect_args=connect_args,
    )
    _postgresql_setup(engine)
    return engine


def _postgresql_setup(engine: AsyncEngine) -> None:
    @sa.event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        transport = getattr(dbapi_connection.driver_connection, "_transport", None)
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None:
            keepalive(sock)


def keepalive(sock: Any) -> None:
    """TCP keepalives and a user timeout on a connected socket, where the platform has them."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in TCP_KEEPALIVE.items():
            option = getattr(socket, name, None)
            if option is not None:
                sock.setsockopt(socket.IPPROTO_TCP, option, value)
    except (OSError, AttributeError, TypeError):  # not a TCP socket (a Unix socket), or not settable
        pass


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
