"""The fetch-only ceiling: raw aiohttp GETs at the worker's concurrency, bodies read, no parsing,
no database. `python -m bench.fetch_only URL IDS_FILE CONCURRENCY`."""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp

from bench.common import TOKEN, emit, read_ids


async def fetch_all(
    url: str, ids: list[str], concurrency: int, keep: bool = False
) -> tuple[int, list[bytes]]:
    """GET every id; returns the bytes read (and the bodies, in id order, when `keep`)."""
    bodies: list[bytes] = [b""] * len(ids) if keep else []
    total = 0
    pending = iter(range(len(ids)))
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal total
            for i in pending:
                async with session.get(f"{url}/sessions/{ids[i]}") as response:
                    body = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"HTTP {response.status} for {ids[i]}")
                total += len(body)
                if keep:
                    bodies[i] = body

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total, bodies


def main() -> None:
    url, ids_file, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ids = read_ids(ids_file)
    started = time.perf_counter()
    total, _ = asyncio.run(fetch_all(url, ids, concurrency))
    elapsed = time.perf_counter() - started
    emit({"sessions": len(ids), "bytes": total, "elapsed_s": elapsed, "sessions_per_s": len(ids) / elapsed})


if __name__ == "__main__":
    main()
