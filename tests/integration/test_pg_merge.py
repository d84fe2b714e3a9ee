"""The PostgreSQL fast path (syncer/pg_merge.py): what test_store.py cannot see from outside.

test_store.py already runs every upsert rule through the fast path on PostgreSQL. Here: the
fast and the generic path give byte-for-byte the same tables and outcomes on random batch
sequences, staging tables are cleaned, errors look like the generic path's, an unchanged
rerun touches no row, big batches and extreme numbers round-trip exactly, and concurrent
writers neither deadlock nor lose the newest version.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from syncer.documents.flatten import flatten_body
from syncer.documents.rows import PeriodRow, PeriodRows, RawRow, SessionBundle
from syncer.outcomes import Outcome
from syncer.sandbox.generate import session_body
from syncer.warehouse import pg_merge, schema
from syncer.warehouse.sql_files import query
from syncer.warehouse.store import Store
from tests.integration.bundles import TABLES, at, bundle, dump
from tests.unit.docs_factory import SEED_ID
from tests.unit.docs_factory import body as seed_body

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[Store]:
    s = Store.open(pg_url)
    yield s
    await s.close()


@pytest.fixture
def generic_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_merge, "supports", lambda conn: False)


async def scalar(store: Store, sql: str) -> Any:
    async with store.engine.connect() as conn:
        return await conn.scalar(sa.text(sql))


async def truncate(store: Store) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(sa.text(f"TRUNCATE {', '.join(TABLES)}"))


def with_periods(b: SessionBundle, periods: list[PeriodRow]) -> SessionBundle:
    return SessionBundle(b.session, b.raw, tuple(periods), b.location, b.evses, b.connectors)


def random_batches(seed: int, steps: int = 40) -> list[tuple[list[SessionBundle], bool]]:
    rng = random.Random(seed)
    batches = []
    for _ in range(steps):
        batch = []
        for _ in range(rng.randint(1, 8)):
            uids = tuple(u for u in ("e1", "e2", "e3") if rng.random() < 0.6)
            batch.append(
                bundle(
                    f"s{rng.randint(0, 11)}",
                    rng.randint(0, 5),
                    periods=rng.randint(0, 4),
                    kwh=f"{rng.randint(0, 10**6)}.{rng.randint(0, 999):03d}",
                    location=rng.choice(("loc-1", "loc-2", "LOC-3", None)),
                    location_version=rng.choice((None, 0, 1, 2, 3, 4)),
                    evse_uids=uids,
                )
            )
        batches.append((batch, rng.random() < 0.2))
    return batches


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_fast_and_generic_paths_agree_on_random_batches(
    store: Store, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    batches = random_batches(seed)
    results: list[Any] = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(pg_merge, "supports", lambda conn: False)
        await truncate(store)
        outcomes = []
        for step, (batch, force) in enumerate(batches):
            outcomes.append(await store.write(batch, now=NOW + timedelta(hours=step), force=force))
        results.append((outcomes, await dump(store)))
    (fast_outcomes, fast_tables), (generic_outcomes, generic_tables) = results
    assert fast_outcomes == generic_outcomes
    assert fast_tables == generic_tables
    assert len(fast_tables["sessions"]) > 5  # the scenario did something


async def test_the_fast_path_is_the_one_used_on_postgresql(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = pg_merge.merge

    async def spy(*args: Any) -> dict[str, Outcome]:
        calls.append(len(args[1]))
        return await real(*args)

    monkeypatch.setattr(pg_merge, "merge", spy)
    await store.write([bundle("a"), bundle("b"), bundle("a", 1)], now=NOW)
    assert calls == [2]  # duplicates merged before the fast path sees them


async def test_staging_tables_are_empty_after_commit_and_reusable(store: Store) -> None:
    async with store.engine.connect() as conn:
        for round_no in range(3):
            async with conn.begin():
                outcomes = await pg_merge.merge(conn, [bundle("a", round_no), bundle("b")], NOW, False)
            assert outcomes["a"] == (Outcome.INSERTED if round_no == 0 else Outcome.UPDATED)
            for table in pg_merge.STAGING_TABLES:
                assert await conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) == 0
            await conn.commit()


async def test_two_merges_in_one_transaction_do_not_see_each_others_staging(store: Store) -> None:
    async with store.engine.begin() as conn:
        first = await pg_merge.merge(conn, [bundle("a", 1), bundle("b", 1)], NOW, False)
        second = await pg_merge.merge(conn, [bundle("c", 1)], NOW, False)
    assert first == {"a": Outcome.INSERTED, "b": Outcome.INSERTED}
    assert second == {"c": Outcome.INSERTED}
    assert await scalar(store, "SELECT count(*) FROM sessions") == 3


async def test_a_refused_batch_raises_like_the_generic_path_and_leaves_nothing(store: Store) -> None:
    await store.write([bundle("a", 0)], now=NOW)
    before = await dump(store)
    good, bad = bundle("a", 1), bundle("b", 1)
    bad = SessionBundle(bad.session, RawRow("b", "not json", bad.last_updated), bad.periods)
    with pytest.raises(sa.exc.DBAPIError) as info:
        await store.write([good, bad], now=NOW)
    assert getattr(info.value.orig, "sqlstate", None) == "22P02"  # invalid input syntax for json
    assert await dump(store) == before  # rolled back whole
    assert await store.write([good], now=NOW) == {"a": Outcome.UPDATED}  # the connection still works


async def test_a_deadlock_or_serialization_failure_carries_its_sqlstate(store: Store) -> None:
    """Store.write retries 40001/40P01 by reading `orig.sqlstate`: the fast path keeps it."""
    async with store.engine.connect() as conn:
        await conn.begin()
        await conn.execute(sa.text("SET LOCAL lock_timeout = '50ms'"))
        async with store.engine.begin() as other:  # holds the row lock of "a"
            await other.execute(sa.text("SELECT 1"))
            await pg_merge.merge(other, [bundle("a", 0)], NOW, False)
            with pytest.raises(sa.exc.DBAPIError) as info:
                await pg_merge.merge(conn, [bundle("a", 1)], NOW, False)
        await conn.rollback()
    assert getattr(info.value.orig, "sqlstate", None) == "55P03"  # lock_not_available


async def test_an_unchanged_rerun_touches_no_row(store: Store) -> None:
    batch = [bundle(f"s{i:03d}", 2, periods=5, evse_uids=("e1", "e2")) for i in range(300)]
    await store.write(batch, now=NOW)
    row_versions = " UNION ALL ".join(
        f"SELECT '{t}', xmin::text, xmax::text FROM {t}" for t in ("sessions", "raw_sessions", *TABLES[3:])
    )
    async with store.engine.connect() as conn:
        before = sorted((await conn.execute(sa.text(row_versions))).all())
        lsn = await conn.scalar(sa.text("SELECT pg_current_wal_lsn()"))
    outcomes = await store.write(batch, now=NOW + timedelta(days=1))
    assert set(outcomes.values()) == {Outcome.UNCHANGED}
    async with store.engine.connect() as conn:
        after = sorted((await conn.execute(sa.text(row_versions))).all())
        wal = await conn.scalar(sa.text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :lsn)"), {"lsn": lsn})
    assert after == before  # not rewritten, not even locked (a lock would set xmax)
    assert wal is not None and wal < 16 * 1024  # a commit record or two, not 300 sessions' rows


async def test_a_large_batch_in_one_transaction(store: Store) -> None:
    batch = [
        with_periods(
            bundle(f"big-{i:05d}", 1, location=f"loc-{i % 50}"),
            [PeriodRow(f"big-{i:05d}", p, 0, at(p), "ENERGY", Decimal(p) / 1000) for p in range(30)],
        )
        for i in range(6000)
    ]
    outcomes = await store.write(batch, now=NOW)
    assert set(outcomes.values()) == {Outcome.INSERTED} and len(outcomes) == 6000
    assert await scalar(store, "SELECT count(*) FROM charging_periods") == 6000 * 30
    assert await scalar(store, "SELECT count(*) FROM locations") == 50
    outcomes = await store.write(batch, now=NOW)
    assert set(outcomes.values()) == {Outcome.UNCHANGED}


EXTREME_NUMBERS = [
    "0.11429",
    "1.7100000000000002",
    "0.10",
    "-0.5000",
    "123456789012345678901234567890.123456789012345678901234567890",
    "1E+1000",
    "1E-1000",
    "-4.5E-7",
]


@pytest.mark.parametrize("fast", [True, False])
async def test_exact_decimals_and_raw_json_round_trip(
    store: Store, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    if not fast:
        monkeypatch.setattr(pg_merge, "supports", lambda conn: False)
    batch = []
    for i, number in enumerate(EXTREME_NUMBERS):
        b = bundle(f"n{i}", kwh=number)
        document = f'{{"id": "n{i}", "kwh": {number}, "nested": {{"v": [{number}, "{number}"]}}}}'
        period = PeriodRow(f"n{i}", 0, 0, at(0), "ENERGY", Decimal(number))
        batch.append(SessionBundle(b.session, RawRow(f"n{i}", document, b.last_updated), (period,)))
    await store.write(batch, now=NOW)
    async with store.engine.connect() as conn:
        kwh = dict((await conn.execute(sa.select(schema.Session.id, schema.Session.kwh))).all())  # type: ignore[call-overload]
        volume = dict(
            (await conn.execute(sa.text("SELECT session_id, volume::text FROM charging_periods"))).all()
        )
        raw = dict((await conn.execute(sa.select(schema.RawSession.id, schema.RawSession.document))).all())  # type: ignore[call-overload]
    for i, number in enumerate(EXTREME_NUMBERS):
        exact = Decimal(number)
        assert kwh[f"n{i}"] == exact and str(kwh[f"n{i}"]) == str(exact)
        assert Decimal(volume[f"n{i}"]) == exact
        document = json.loads(raw[f"n{i}"], parse_float=Decimal, parse_int=Decimal)
        assert document["kwh"] == exact and document["nested"]["v"] == [exact, number]


async def test_periods_are_stored_alike_on_both_paths_in_any_server_time_zone(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path copies period starts and volumes, the generic path binds them: both must
    store the same instant and the same numeric text and scale, even when the server's
    TimeZone is not UTC (a timestamp staged or cast without its zone would shift here)."""
    async with store.engine.begin() as conn:
        name = await conn.scalar(sa.text("SELECT current_database()"))
        await conn.execute(sa.text(f"ALTER DATABASE \"{name}\" SET TimeZone = 'America/New_York'"))
    await store.engine.dispose()  # new connections take the database's setting
    starts = [
        at(0),
        # (asyncpg itself sends 0001-01-01T00:00Z and 9999-12-31T23:59:59.999999Z as ±infinity)
        datetime(1, 1, 1, 0, 0, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999998, tzinfo=UTC),
        datetime(2026, 3, 8, 7, 30, 0, 123456, tzinfo=UTC),  # 02:30 New York time does not exist
        None,
    ]
    numbers = [*EXTREME_NUMBERS, "1.50", "0E-7", "-0.000", None]
    periods = [
        PeriodRow("p", i, 0, starts[i % len(starts)], "ENERGY", None if n is None else Decimal(n))
        for i, n in enumerate(numbers)
    ]
    stored = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(pg_merge, "supports", lambda conn: False)
        await truncate(store)
        await store.write([with_periods(bundle("p"), periods)], now=NOW)
        async with store.engine.connect() as conn:
            assert await conn.scalar(sa.text("SHOW TimeZone")) == "America/New_York"
            rows = await conn.execute(
                sa.text(
                    "SELECT period_index, start_date_time, extract(epoch FROM start_date_time)::text,"
                    " volume::text FROM charging_periods ORDER BY period_index"
                )
            )
            stored.append(rows.all())
    fast_rows, generic_rows = stored
    assert fast_rows == generic_rows
    assert [row[1] for row in fast_rows] == [starts[i % len(starts)] for i in range(len(numbers))]
    assert [row[3] is None for row in fast_rows] == [n is None for n in numbers]


async def test_periods_copied_from_the_received_texts_store_what_the_rows_hold(store: Store) -> None:
    """The parser writes the periods' COPY text from the texts it received (`copy_text`); the
    same bundles without it are written from the rows' values. Both store the same rows, to the
    instant and to the numeric scale, with a server TimeZone that is not UTC."""
    async with store.engine.begin() as conn:
        name = await conn.scalar(sa.text("SELECT current_database()"))
        await conn.execute(sa.text(f"ALTER DATABASE \"{name}\" SET TimeZone = 'Asia/Kolkata'"))
    await store.engine.dispose()
    ids = [f"t{i}" for i in range(80)]
    parsed = [flatten_body(session_body(id, 0, 11, 7), id) for id in ids]
    parsed.append(flatten_body(seed_body(), SEED_ID))
    assert all(isinstance(b.periods, PeriodRows) and b.periods.received for b in parsed)
    stored = []
    for batch in (parsed, [dataclasses.replace(b, periods=tuple(b.periods)) for b in parsed]):
        await truncate(store)
        await store.write(batch, now=NOW)
        async with store.engine.connect() as conn:
            rows = await conn.execute(
                sa.text(
                    "SELECT session_id, period_index, dimension_index, extract(epoch FROM start_date_time)::text,"
                    " dimension_type, volume::text, scale(volume) FROM charging_periods ORDER BY 1, 2, 3"
                )
            )
            stored.append(rows.all())
    assert stored[0] == stored[1]
    assert len(stored[0]) == sum(len(b.periods) for b in parsed) > 1000


async def test_places_committed_once_are_not_copied_again_unless_newer_or_forced(store: Store) -> None:
    """The fast path skips a place this store committed at the same version or newer (the
    guard would change nothing); a newer version is written, and `force` copies everything."""
    names = "SELECT name FROM locations WHERE location_id = 'loc-1'"
    await store.write([bundle("a", 1, location_version=5)], now=NOW)
    assert store.places_seen.unseen("locations", [bundle("x", location_version=5).location]) == []
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE locations SET name = 'by hand'"))
    await store.write([bundle("b", 1, location_version=5)], now=NOW)
    assert await scalar(store, names) == "by hand"
    await store.write([bundle("b", 1, location_version=5)], now=NOW, force=True)
    assert await scalar(store, names) != "by hand"
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE locations SET name = 'by hand'"))
    await store.write([bundle("c", 1, location_version=6)], now=NOW)
    assert await scalar(store, names) != "by hand"
    assert await scalar(store, "SELECT count(*) FROM evses") == 1


async def test_period_text_survives_the_copy_text_format(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Periods reach PostgreSQL in COPY's text format: tabs, line breaks, backslashes and a
    literal `\\N` in a dimension type come back as sent, on both paths alike; a naive start
    time is refused by both (never read in the server's TimeZone)."""
    kinds = ["a\tb", "line\nbreak", "cr\rlf", "back\\slash", "\\N", "\\.", "ünï €", "", None, "ENERGY"]
    periods = [PeriodRow("k", i, 0, at(i), kind, Decimal(i)) for i, kind in enumerate(kinds)]
    naive = [PeriodRow("n", 0, 0, datetime(2024, 5, 6, 7, 8, 9), "ENERGY", Decimal(1))]
    stored = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(pg_merge, "supports", lambda conn: False)
        await truncate(store)
        with pytest.raises((ValueError, sa.exc.StatementError), match="naive datetime"):
            await store.write([with_periods(bundle("n"), naive)], now=NOW)
        await store.write([with_periods(bundle("k"), periods)], now=NOW)
        async with store.engine.connect() as conn:
            rows = await conn.execute(
                sa.text("SELECT session_id, period_index, dimension_type FROM charging_periods ORDER BY 2")
            )
            stored.append(rows.all())
    assert stored[0] == stored[1]
    assert [row[2] for row in stored[0]] == kinds
    assert {row[0] for row in stored[0]} == {"k"}


async def test_text_arrays_and_nulls_in_places(store: Store) -> None:
    b = bundle("a", evse_uids=("e1",))
    evse = b.evses[0]
    odd = type(evse)(evse.location_id, "e1", capabilities=("A", "", 'quote"d', "comma,", "NULL"))
    await store.write([SessionBundle(b.session, b.raw, b.periods, b.location, (odd,), ())], now=NOW)
    async with store.engine.connect() as conn:
        caps = await conn.scalar(sa.select(schema.Evse.capabilities))  # type: ignore[arg-type]
    assert caps == ("A", "", 'quote"d', "comma,", "NULL")


async def test_a_writer_that_loses_the_race_reclassifies(pg_url: str) -> None:
    first, second = Store.open(pg_url), Store.open(pg_url)
    try:
        batch = [bundle(f"r{i}", 1) for i in range(20)]
        async with first.engine.begin() as conn:
            assert set((await pg_merge.merge(conn, batch, NOW, False)).values()) == {Outcome.INSERTED}
            racing = asyncio.create_task(second.write(batch, now=NOW))
            await asyncio.sleep(0.3)  # it saw no rows, and now waits on our uncommitted inserts
            assert not racing.done()
        outcomes = await racing
        assert set(outcomes.values()) == {Outcome.UNCHANGED}
    finally:
        await first.close()
        await second.close()


async def test_concurrent_writers_keep_the_newest_and_never_deadlock(pg_url: str) -> None:
    stores = [Store.open(pg_url) for _ in range(4)]
    try:
        rng = random.Random(7)

        async def writer(store: Store, version: int) -> None:
            for _ in range(5):
                ids = rng.sample(range(200), 120)
                await store.write(
                    [bundle(f"c{i:03d}", version, location=f"loc-{i % 7}") for i in ids], now=NOW
                )

        await asyncio.gather(*(writer(s, v) for v, s in enumerate(stores)))
        await stores[0].write([bundle(f"c{i:03d}", 3, location=f"loc-{i % 7}") for i in range(200)], now=NOW)
        assert (
            await scalar(
                stores[0], f"SELECT count(*) FROM sessions WHERE last_updated <> '{at(3).isoformat()}'"
            )
            == 0
        )
    finally:
        for s in stores:
            await s.close()


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("pg_merge/sessions", "sessions"),
        ("pg_merge/locations", "locations"),
        ("pg_merge/evses", "evses"),
        ("pg_merge/connectors", "connectors"),
    ],
)
def test_the_merge_statements_name_every_column(name: str, table: str) -> None:
    """A column added to the schema must be added to the hand-written merge too."""
    sql = query(name).text
    columns = schema.SQLModel.metadata.tables[table].columns
    for column in columns:
        assert re.search(rf"\b{column.name}\b", sql), f"{name}.sql does not name {table}.{column.name}"
        if not column.primary_key:
            assert f"{column.name} = excluded.{column.name}" in sql
