"""Which database errors are the run's (retry the connection, or stop) and which are one id's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa

from syncer.warehouse.faults import DbFault, classify, describe


def wrapped(error: BaseException) -> sa.exc.DBAPIError:
    """As the PostgreSQL fast path raises it (`pg_merge`)."""
    return sa.exc.DBAPIError.instance("pg_merge: sessions", None, error, Exception, hide_parameters=True)


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (ConnectionRefusedError(111, "Connection refused"), DbFault.LOST),
        (TimeoutError(), DbFault.LOST),
        (
            asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
            DbFault.LOST,
        ),
        (wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection")), DbFault.LOST),
        (wrapped(asyncpg.exceptions.InsufficientPrivilegeError("permission denied")), DbFault.REFUSED),
        (wrapped(asyncpg.exceptions.ReadOnlySQLTransactionError("read-only")), DbFault.REFUSED),
        (wrapped(asyncpg.exceptions.DiskFullError("no space left")), DbFault.REFUSED),
        (wrapped(asyncpg.exceptions.InvalidCatalogNameError('database "x" does not exist')), DbFault.REFUSED),
        (wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key")), None),
        (wrapped(asyncpg.exceptions.NumericValueOutOfRangeError("numeric field overflow")), None),
        (ValueError("not a database error"), None),
    ],
)
def test_classify(error: BaseException, fault: DbFault | None) -> None:
    assert classify(error) == fault


def test_describe_is_one_line_naming_the_database_without_its_password() -> None:
    error = wrapped(
        asyncpg.exceptions.InsufficientPrivilegeError("permission denied for table sessions\nmore")
    )
    line = describe(error, "postgresql://syncer:hunter2@db.internal:5432/warehouse")
    assert "\n" not in line
    assert "hunter2" not in line and "db.internal:5432/warehouse" in line
    assert "permission denied for table sessions" in line


def test_sqlite_errors_are_classified_by_their_result_code(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    readonly = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        with pytest.raises(sqlite3.OperationalError) as caught:
            readonly.execute("INSERT INTO t VALUES (1)")
    finally:
        readonly.close()
    assert classify(caught.value) == DbFault.REFUSED
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE u (x PRIMARY KEY)")
    with pytest.raises(sqlite3.IntegrityError) as duplicate:
        db.execute("INSERT INTO u VALUES (1), (1)")
    db.close()
    assert classify(duplicate.value) is None
