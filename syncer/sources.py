"""Where ids come from. `file_ids` reads a file or stdin lazily (never the whole file),
skips blanks and `#` comments, lower-cases, drops duplicates and flags invalid ids up front.
(The queue table source lives in `queue_store.py`.)
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import anyio.to_thread

from syncer.errors import ConfigError
from syncer.ids import shown, valid_id
from syncer.seen_ids import SeenIds

_LINES_PER_READ = 2_000
DEDUPE_WINDOW = 2_000_000
"""Distinct ids remembered for dropping duplicates (`SeenIds`: 64 MB at most). Past that a
repeated id is fetched again, which is harmless: its second write counts as `unchanged`."""


@dataclass(frozen=True, slots=True)
class SourceId:
    id: str
    valid: bool = True
    line: int = 0


def _clean(lines: Iterator[str]) -> Iterator[SourceId]:
    seen = SeenIds(DEDUPE_WINDOW)
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if not valid_id(text):
            yield SourceId(shown(text), valid=False, line=number)
            continue
        key = text.lower()
        if seen.add(key):
            yield SourceId(key, line=number)


def _open(spec: str) -> IO[str]:
    if spec == "-":
        return sys.stdin
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"--ids: no such file: {spec}")
    return path.open(encoding="utf-8", errors="replace", newline=None)


def _chunks(handle: IO[str]) -> Iterator[list[SourceId]]:
    cleaned = _clean(iter(handle))
    while True:
        chunk = []
        for item in cleaned:
            chunk.append(item)
            if len(chunk) >= _LINES_PER_READ:
                break
        if not chunk:
            return
        yield chunk


async def file_ids(spec: str) -> AsyncIterator[SourceId]:
    """The ids of a file (or `-` for stdin), read in a worker thread a chunk at a time so a
    slow pipe never blocks the event loop and memory stays flat however long the file."""
    handle = _open(spec)
    chunks = _chunks(handle)
    try:
        while True:
            chunk = await anyio.to_thread.run_sync(next, chunks, None)
            if chunk is None:
                return
            for item in chunk:
                yield item
    finally:
        if handle is not sys.stdin:
            handle.close()


def shard_of(id: str, shards: int) -> int:
    """The shard (0 … shards-1) an id belongs to: by a stable hash of its lower-case form, so
    the same id in any case lands in the same shard on every machine and every run."""
    return zlib.crc32(id.lower().encode("utf-8", "surrogatepass")) % shards


async def only_shard(source: AsyncIterator[SourceId], shard: tuple[int, int]) -> AsyncIterator[SourceId]:
    """The ids of `source` in shard K of N (`--shard K/N`)."""
    k, n = shard
    async for item in source:
        if shard_of(item.id, n) == k:
            yield item
