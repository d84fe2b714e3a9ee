"""Which database errors are the run's, not one id's: the connection is gone, or the server
refuses this role or this database whatever is written.

    classify(error) -> DbFault.LOST     connection lost, refused, timed out, server shutting down:
                                         worth retrying for `--db-retry-seconds`
                       DbFault.REFUSED   privileges, read-only server, disk full, database or
                                         tables missing, authentication: retrying cannot help
                       None              anything else (one bad document: the worker isolates it)

Decided by exception type, SQLSTATE (PostgreSQL) and result code (SQLite), never by parsing
messages.
"""

from __future__ import annotations

from enum import StrEnum

import asyncpg
import sqlalchemy as sa

from syncer.warehouse.database import redact_url


class DbFault(StrEnum):
    LOST = "lost"
    REFUSED = "refused"


_LOST_CLASSES = ("08", "57")  # connection exception; operator intervention (shutdown, cancel)
_LOST_STATES = frozenset({"53300", "55P03"})  # too many connections; lock not available
_REFUSED_CLASSES = ("28", "3D", "53")  # authorization; no such database; resources (disk full)
_REFUSED_STATES = frozenset({"42501", "25006", "42P01", "3F000"})
"""insufficient privilege; read-only transaction (a replica); undefined table; undefined schema."""
_SQLITE_LOST = ("SQLITE_BUSY", "SQLITE_LOCKED")  # another writer held the lock past busy_timeout
_SQLITE_REFUSED = (  # full, I/O error, read-only, corrupt, not a database, cannot open
    "SQLITE_FULL",
    "SQLITE_IOERR",
    "SQLITE_READONLY",
    "SQLITE_CORRUPT",
    "SQLITE_NOTADB",
    "SQLITE_CANTOPEN",
    "SQLITE_PERM",
)
_LOST_TYPES: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,  # the connection is closed, or was being used when it broke
    asyncpg.PostgresConnectionError,
    sa.exc.TimeoutError,  # no pooled connection came back in time
    sa.exc.DisconnectionError,
)


def classify(error: BaseException) -> DbFault | None:
    for cause in _chain(error):
        fault = _by_code(cause)
        if fault is not None:
            return fault
        if isinstance(cause, _LOST_TYPES):
            return DbFault.LOST
        if isinstance(cause, sa.exc.DBAPIError) and cause.connection_invalidated:
            return DbFault.LOST
    return None


def _by_code(cause: BaseException) -> DbFault | None:
    """By PostgreSQL's SQLSTATE or SQLite's result code name."""
    state = getattr(cause, "sqlstate", None)
    if isinstance(state, str) and state:
        if state in _REFUSED_STATES or state.startswith(_REFUSED_CLASSES):
            return DbFault.REFUSED
        if state in _LOST_STATES or state.startswith(_LOST_CLASSES):
            return DbFault.LOST
    name = getattr(cause, "sqlite_errorname", None)
    if isinstance(name, str):
        if name.startswith(_SQLITE_REFUSED):
            return DbFault.REFUSED
        if name.startswith(_SQLITE_LOST):
            return DbFault.LOST
    return None


def describe(error: BaseException, url: str) -> str:
    """One line naming the database (password hidden) and the error's first line."""
    for cause in _chain(error):
        if not isinstance(cause, sa.exc.StatementError):
            text = str(cause).strip().splitlines()
            detail = f"{type(cause).__name__}: {text[0][:300]}" if text else type(cause).__name__
            break
    else:
        detail = type(error).__name__
    hint = ""
    if classify(error) == DbFault.REFUSED and "42501" in (_states(error)):
        hint = " (grant the syncer's role SELECT, INSERT, UPDATE, DELETE on its tables)"
    return f"database {redact_url(url)}: {detail}{hint}"


def cannot_open(error: BaseException, url: str) -> str:
    """One line for a database that cannot be opened, with what to do when that is clear."""
    states = _states(error)
    if "3D000" in states:
        parsed = sa.engine.make_url(url)
        return (
            f"database {parsed.database!r} does not exist on {parsed.host or 'localhost'} "
            f"({redact_url(url)}): create it, e.g. createdb -h {parsed.host or 'localhost'} "
            f"-U {parsed.username or 'postgres'} {parsed.database}, then run syncer migrate"
        )
    if states & {"28P01", "28000"}:
        return (
            f"{describe(error, url)} (check the user and password; URL-encode special characters "
            "in the password, e.g. @ as %40)"
        )
    return f"cannot reach the {describe(error, url)}"


def _states(error: BaseException) -> set[str]:
    return {s for c in _chain(error) if isinstance(s := getattr(c, "sqlstate", None), str)}


def _chain(error: BaseException) -> list[BaseException]:
    """The error, the driver error it wraps (`orig`), and their causes and contexts."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo.extend([getattr(current, "orig", None), current.__cause__, current.__context__])
    return seen
