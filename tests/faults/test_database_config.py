"""Database configuration mistakes are one line and exit 2 (no traceback), and what a URL asks
of the connection is what the connection gets."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncer.sandbox import SandboxConfig, running_sandbox_in_thread
from syncer.warehouse.store import Store
from tests.e2e.cli import Result, syncer
from tests.faults.harness import id_file


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    with running_sandbox_in_thread(SandboxConfig()) as url:
        yield url


def run(gateway: str, database_url: str, ids: Path) -> Result:
    return syncer("run", "--ids", str(ids), "--gateway-url", gateway, "--database-url", database_url)


def one_line(result: Result) -> str:
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.postgres
def test_libpq_parameters_are_honoured_or_refused_by_name(gateway: str, pg_url: str, tmp_path: Path) -> None:
    ids = id_file(tmp_path / "ids.txt", ["cfg-1", "cfg-2"])
    ok = run(gateway, f"{pg_url}?sslmode=disable&connect_timeout=5&application_name=nightly", ids)
    assert ok.code == 0, ok.stderr
    assert ok.summary["inserted"] == 2
    # This server has no TLS: sslmode=require must fail as libpq does, in one line.
    line = one_line(run(gateway, f"{pg_url}?sslmode=require", ids))
    assert "SSL" in line and "127.0.0.1" in line
    assert "'keepalives'" in one_line(run(gateway, f"{pg_url}?keepalives=1", ids))


@pytest.mark.postgres
async def test_connections_carry_the_application_name_and_keepalives(pg_url: str) -> None:
    for url, name in ((pg_url, "syncer"), (f"{pg_url}?application_name=nightly", "nightly")):
        async with Store.open(url) as store, store.engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT current_setting('application_name')")) == name
            assert await conn.scalar(sa.text("SELECT current_setting('tcp_keepalives_idle')")) == "30"


@pytest.mark.postgres
def test_a_database_that_does_not_exist_says_how_to_create_it(
    gateway: str, pg_url: str, tmp_path: Path
) -> None:
    missing = sa.engine.make_url(pg_url).set(database="syncer_no_such_db", password="s3cret!")
    url = missing.render_as_string(hide_password=False)
    line = one_line(run(gateway, url, id_file(tmp_path / "ids.txt", ["cfg-1"])))
    assert "'syncer_no_such_db' does not exist" in line and "createdb" in line
    assert "s3cret" not in line


def test_a_corrupt_sqlite_file_is_refused_at_open(gateway: str, sqlite_url: str, tmp_path: Path) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO sync_failures (id, run_id, kind, message, at) VALUES (?, 'r', 'http_503', ?, ?)",
            [(f"old-{i}", "x" * 200, "2026-01-01 00:00:00.000000") for i in range(2000)],
        )
        (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sync_failures'").fetchone()
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
    db.close()
    with open(path, "r+b") as file:  # the table's root page: a page type that does not exist
        file.seek((root - 1) * page_size)
        file.write(b"\x07")
    ids = id_file(tmp_path / "ids.txt", ["cfg-1", "cfg-2"])
    line = one_line(run(gateway, sqlite_url, ids))
    assert "corrupt" in line and path in line
