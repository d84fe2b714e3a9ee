"""The contract's upsert rules, on real PostgreSQL and real SQLite (the same tests on both)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from syncer.outcomes import Failure, Outcome, RunSummary
from syncer.warehouse import schema
from syncer.warehouse.store import Store
from tests.integration.bundles import at, bundle, dump

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LATER = datetime(2026, 1, 2, tzinfo=UTC)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    s = Store.open(database_url)
    yield s
    await s.close()


async def count(store: Store, table: str, where: str = "") -> int:
    async with store.engine.connect() as conn:
        return int(await conn.scalar(sa.text(f"SELECT count(*) FROM {table} {where}")) or 0)


async def test_new_sessions_are_inserted_with_all_their_rows(store: Store) -> None:
    outcomes = await store.write([bundle("a", periods=3), bundle("b", periods=1)], now=NOW)
    assert outcomes == {"a": Outcome.INSERTED, "b": Outcome.INSERTED}
    tables = await dump(store)
    assert len(tables["sessions"]) == 2
    assert len(tables["charging_periods"]) == 4 + 1  # period 1 of "a" has two dimensions
    assert len(tables["raw_sessions"]) == 2
    assert len(tables["locations"]) == 1 and len(tables["evses"]) == 1 and len(tables["connectors"]) == 1


async def test_rerunning_the_same_batch_changes_nothing(store: Store) -> None:
    batch = [bundle("a"), bundle("b", 5), bundle("c", location="loc-2")]
    await store.write(batch, now=NOW)
    before = await dump(store)
    outcomes = await store.write(batch, now=LATER)
    assert set(outcomes.values()) == {Outcome.UNCHANGED}
    assert await dump(store) == before  # synced_at too: nothing was rewritten


async def test_an_older_document_never_overwrites_a_newer_one(store: Store) -> None:
    await store.write([bundle("a", 10, kwh="2.5", periods=4)], now=NOW)
    before = await dump(store)
    outcomes = await store.write([bundle("a", 5, kwh="1.0", periods=1)], now=LATER)
    assert outcomes == {"a": Outcome.STALE}
    assert await dump(store) == before


async def test_a_newer_document_replaces_the_periods_whole(store: Store) -> None:
    await store.write([bundle("a", 0, periods=6)], now=NOW)
    assert await count(store, "charging_periods") == 9
    outcomes = await store.write([bundle("a", 1, periods=2, kwh="9.99999")], now=LATER)
    assert outcomes == {"a": Outcome.UPDATED}
    tables = await dump(store)
    assert [(r[1], r[2]) for r in tables["charging_periods"]] == [(0, 0), (1, 0), (1, 1)]  # no orphans
    session = tables["sessions"][0]
    async with store.engine.connect() as conn:
        row = (await conn.execute(sa.select(schema.Session).where(schema.Session.id == "a"))).one()  # type: ignore[arg-type]
    assert row.kwh == Decimal("9.99999") and row.last_updated == at(1) and row.synced_at == LATER
    assert session[0] == "a"
    assert tables["raw_sessions"][0][2] == at(1)


async def test_duplicates_in_one_batch_are_merged_newest_wins(store: Store) -> None:
    outcomes = await store.write(
        [bundle("a", 1, kwh="1"), bundle("a", 3, kwh="3"), bundle("a", 2, kwh="2")], now=NOW
    )
    assert outcomes == {"a": Outcome.INSERTED}
    async with store.engine.connect() as conn:
        kwh = await conn.scalar(sa.select(schema.Session.kwh))  # type: ignore[arg-type]
    assert kwh == Decimal("3")


async def test_counts_cover_every_outcome_in_one_batch(store: Store) -> None:
    await store.write([bundle("same", 1), bundle("older", 5), bundle("newer", 1)], now=NOW)
    outcomes = await store.write(
        [bundle("same", 1), bundle("older", 4), bundle("newer", 2), bundle("fresh", 0)], now=LATER
    )
    assert outcomes == {
        "same": Outcome.UNCHANGED,
        "older": Outcome.STALE,
        "newer": Outcome.UPDATED,
        "fresh": Outcome.INSERTED,
    }


async def test_exact_decimals_round_trip(store: Store) -> None:
    await store.write([bundle("a", kwh="1.7100000000000002"), bundle("b", kwh="0.11429")], now=NOW)
    async with store.engine.connect() as conn:
        got = dict((await conn.execute(sa.select(schema.Session.id, schema.Session.kwh))).all())  # type: ignore[call-overload]
        volume = await conn.scalar(sa.text("SELECT sum(volume) FROM charging_periods WHERE session_id = 'b'"))
    assert got == {"a": Decimal("1.7100000000000002"), "b": Decimal("0.11429")}
    assert Decimal(str(volume)) == Decimal("0.001") + Decimal("0.002") * 2 + Decimal("0.003")


async def test_locations_follow_their_own_version_and_are_never_deleted(store: Store) -> None:
    await store.write([bundle("a", 0, location_version=5, evse_uids=("e1", "e2"))], now=NOW)
    # a newer session carrying an older location snapshot: the session updates, the location doesn't
    await store.write([bundle("a", 1, location_version=3, evse_uids=("e1",))], now=LATER)
    async with store.engine.connect() as conn:
        name = await conn.scalar(sa.text("SELECT name FROM locations"))
        evses = (await conn.execute(sa.text("SELECT uid FROM evses ORDER BY uid"))).scalars().all()
    assert name == "Lab 5 "
    assert evses == ["e1", "e2"]
    # a newer snapshot that omits e2 updates e1 and keeps e2 (a snapshot never deletes)
    await store.write([bundle("b", 0, location_version=9, evse_uids=("e1",))], now=LATER)
    async with store.engine.connect() as conn:
        name = await conn.scalar(sa.text("SELECT name FROM locations"))
        rows = (await conn.execute(sa.text("SELECT uid, last_updated FROM evses ORDER BY uid"))).all()
    assert name == "Lab 9 "
    assert [r[0] for r in rows] == ["e1", "e2"]


async def test_a_location_without_a_version_is_inserted_but_never_overwrites(store: Store) -> None:
    await store.write([bundle("a", location_version=None)], now=NOW)
    await store.write([bundle("b", location_version=None)], now=LATER)
    assert await count(store, "locations", "WHERE name = 'Lab None '") == 1
    await store.write([bundle("c", location_version=2)], now=LATER)
    assert await count(store, "locations", "WHERE name = 'Lab 2 '") == 1


async def test_force_rewrites_equal_versions_for_reprocess(store: Store) -> None:
    await store.write([bundle("a", 1, periods=5)], now=NOW)
    outcomes = await store.write([bundle("a", 1, periods=2)], now=LATER, force=True)
    assert outcomes == {"a": Outcome.UPDATED}
    assert await count(store, "charging_periods") == 3
    assert await store.write([bundle("a", 0)], now=LATER, force=True) == {"a": Outcome.STALE}


async def test_failures_and_runs_are_recorded(store: Store) -> None:
    await store.start_run("r1", "file", NOW)
    await store.record_failures("r1", [Failure("x", "http_503", "gave up after 5 attempts", 503)], at=LATER)
    summary = RunSummary(requested=3, fetched=2, inserted=2, failed=1, duration_s=2.0)
    await store.finish_run("r1", summary, status="failed", exit_code=1, finished_at=LATER)
    async with store.engine.connect() as conn:
        run = (
            await conn.execute(
                sa.text("SELECT status, exit_code, requested, inserted, failed FROM sync_runs")
            )
        ).one()
        failure = (
            await conn.execute(sa.text("SELECT id, run_id, kind, http_status FROM sync_failures"))
        ).one()
    assert tuple(run) == ("failed", 1, 3, 2, 1)
    assert tuple(failure) == ("x", "r1", "http_503", 503)


async def test_raw_documents_are_paged_in_id_order(store: Store) -> None:
    await store.write([bundle(f"s{i:03d}") for i in range(7)], now=NOW)
    pages = [page async for page in store.raw_documents(page_size=3)]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for p in pages for i, _ in p] == [f"s{i:03d}" for i in range(7)]
