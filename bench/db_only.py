"""The database-only ceiling: the syncer's own PostgreSQL write path (COPY into staging, set-based
merges) over documents fetched and parsed beforehand, so only the writes are timed.
`python -m bench.db_only URL IDS_FILE CONCURRENCY DATABASE_URL BATCH_SIZE`.

Prints one JSON line with the first load and an unchanged rerun of the same batches.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime

from bench.common import emit, read_ids
from bench.fetch_only import fetch_all
from syncer.documents.flatten import flatten_body
from syncer.warehouse.store import Store


async def write_all(store: Store, ids: list[str], bodies: list[bytes], batch_size: int) -> dict[str, float]:
    wall = cpu = parse = 0.0
    outcomes: dict[str, int] = {}
    for start in range(0, len(ids), batch_size):
        t0 = time.perf_counter()
        bundles = [flatten_body(bodies[i], ids[i]) for i in range(start, min(start + batch_size, len(ids)))]
        t1, c1 = time.perf_counter(), time.process_time()
        result = await store.write(bundles, now=datetime.now(UTC))
        wall += time.perf_counter() - t1
        cpu += time.process_time() - c1
        parse += t1 - t0
        for outcome in result.values():
            outcomes[outcome.value] = outcomes.get(outcome.value, 0) + 1
    return {
        "write_s": wall,
        "write_cpu_s": cpu,
        "parse_s": parse,
        "sessions_per_s": len(ids) / wall,
        **outcomes,
    }


async def run(url: str, ids: list[str], concurrency: int, database_url: str, batch_size: int) -> None:
    _, bodies = await fetch_all(url, ids, concurrency, keep=True)
    async with Store.open(database_url) as store:
        first = await write_all(store, ids, bodies, batch_size)
        again = await write_all(store, ids, bodies, batch_size)
    emit({"sessions": len(ids), "first": first, "unchanged": again})


def main() -> None:
    url, ids_file, concurrency, database_url, batch_size = sys.argv[1:6]
    asyncio.run(run(url, read_ids(ids_file), int(concurrency), database_url, int(batch_size)))


if __name__ == "__main__":
    main()
