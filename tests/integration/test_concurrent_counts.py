"""Honest counts: `inserted` and `updated` are what the database did, so runs writing the same
new ids at once add up to one insert per id (PostgreSQL; SQLite has one writer at a time)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest

from syncer.outcomes import Outcome
from syncer.warehouse import pg_merge
from syncer.warehouse.store import Store
from tests.integration.bundles import bundle

NOW = datetime(2026, 1, 1, tzinfo=UTC)
pytestmark = pytest.mark.postgres


async def test_a_newer_version_written_over_a_concurrent_insert_counts_updated(pg_url: str) -> None:
    """The second writer saw no row, then the first inserted one: the second's newer version
    updates that row, and is counted `updated`, not a second `inserted`."""
    first, second = Store.open(pg_url), Store.open(pg_url)
    try:
        async with first.engine.begin() as conn:
            older = [bundle(f"n{i}", 1) for i in range(20)]
            assert set((await pg_merge.merge(conn, older, NOW, False)).values()) == {Outcome.INSERTED}
            racing = asyncio.create_task(second.write([bundle(f"n{i}", 2) for i in range(20)], now=NOW))
            await asyncio.sleep(0.5)  # it saw no rows, and now waits on our uncommitted inserts
            assert not racing.done()
        assert Counter((await racing).values()) == {Outcome.UPDATED: 20}
    finally:
        await first.close()
        await second.close()


async def test_two_writers_of_the_same_new_ids_add_up(pg_url: str) -> None:
    stores = [Store.open(pg_url) for _ in range(2)]
    try:
        ids = [f"s{i:04d}" for i in range(600)]

        async def writer(store: Store, version: int, order: list[str]) -> Counter[Outcome]:
            counts: Counter[Outcome] = Counter()
            for start in range(0, len(order), 50):
                batch = [bundle(id, version) for id in order[start : start + 50]]
                counts.update((await store.write(batch, now=NOW)).values())
            return counts

        a, b = await asyncio.gather(writer(stores[0], 1, ids), writer(stores[1], 2, ids[::-1]))
        total = a + b
        assert total[Outcome.INSERTED] == len(ids)
        assert total[Outcome.INSERTED] + total[Outcome.UPDATED] + total[Outcome.STALE] == len(ids) * 2
    finally:
        for store in stores:
            await store.close()
