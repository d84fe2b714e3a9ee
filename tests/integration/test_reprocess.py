"""`syncer reprocess` rebuilds the flat tables from raw_sessions alone, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from syncer import __version__
from syncer.documents.flatten import flatten_body
from syncer.pipeline.reprocess import reprocess
from syncer.sandbox.generate import session_body
from syncer.warehouse import schema
from syncer.warehouse.store import Store
from tests.integration.bundles import dump

STORE_FILLED = {"synced_at", "fetched_at", "last_run_id"}


def without_store_filled(table: str, rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    names = [c.name for c in schema.SQLModel.metadata.tables[table].columns]
    keep = [i for i, name in enumerate(names) if name not in STORE_FILLED]
    return [tuple(row[i] for i in keep) for row in rows]


async def test_reprocess_restores_damaged_flat_rows(database_url: str) -> None:
    ids = [f"rp-{i:03d}" for i in range(30)]
    bundles = [flatten_body(session_body(i, 0, 0, 50), requested_id=i) for i in ids]
    async with Store.open(database_url) as store:
        await store.write(bundles, now=datetime(2026, 1, 1, tzinfo=UTC), run_id="first")
        good = await dump(store)
        async with store.engine.begin() as conn:  # a "flattening bug": wrong numbers, lost periods
            await conn.execute(sa.text("UPDATE sessions SET kwh = NULL, status = 'WRONG'"))
            await conn.execute(sa.text("DELETE FROM charging_periods WHERE period_index > 0"))
        assert await reprocess(store, page_size=7) == 0
        repaired = await dump(store)
        async with store.engine.connect() as conn:
            runs = await conn.execute(sa.text("SELECT run_id FROM sync_runs"))
            reprocess_run = runs.scalar_one()
            lineage = await conn.execute(
                sa.text(
                    "SELECT DISTINCT last_run_id FROM sessions UNION ALL"
                    " SELECT DISTINCT last_run_id FROM charging_periods UNION ALL"
                    " SELECT DISTINCT last_run_id FROM raw_sessions"
                )
            )
            assert set(lineage.scalars()) == {reprocess_run}  # every rewritten row names its run
    for table in ("sessions", "charging_periods", "raw_sessions"):  # all but what the store fills
        assert without_store_filled(table, repaired[table]) == without_store_filled(table, good[table])


async def test_reprocess_records_a_document_it_cannot_read(database_url: str) -> None:
    async with Store.open(database_url) as store:
        await store.write(
            [flatten_body(session_body("ok-1", 0, 0, 50), requested_id="ok-1")],
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )
        async with store.engine.begin() as conn:
            await conn.execute(sa.text("""UPDATE raw_sessions SET document = '{"id": "ok-1"}'"""))
        assert await reprocess(store) == 1
        async with store.engine.connect() as conn:
            kind = await conn.scalar(sa.text("SELECT kind FROM sync_failures WHERE id = 'ok-1'"))
    assert kind == "bad_last_updated"


async def test_reprocess_records_who_ran_it_and_a_heartbeat(database_url: str) -> None:
    async with Store.open(database_url) as store:
        await store.write(
            [flatten_body(session_body("hb-1", 0, 0, 50), requested_id="hb-1")],
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )
        assert await reprocess(store, progress_interval=0.01) == 0
        async with store.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.text("SELECT source, status, syncer_version, heartbeat_at, updated FROM sync_runs")
                )
            ).one()
    assert row[:3] == ("raw", "ok", __version__) and row[3] is not None and row[4] == 1
