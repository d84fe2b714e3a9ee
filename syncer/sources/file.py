"""The ids of a file or stdin. `file_ids` reads lazily (never the whole file), skips blanks and
`#` comments, lower-cases, drops duplicates and rejects invalid ids up front; `FileSource` is
the `Source` the pipeline runs on (optionally one shard of the file: `--shard K/N`).

A line is never silently changed into another id: only a leading byte-order mark, the line
ending and ASCII spaces or tabs around the id are dropped. Any other whitespace or control
character (a no-break space, U+2028, ...) leaves the line invalid. A line longer than
`MAX_LINE_CHARS` is rejected without being held in memory (the rest of it is skipped a chunk
at a time).
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import IO

import anyio
import anyio.to_thread

from syncer.errors import ConfigError
from syncer.gateway.retry import RetryPolicy
from syncer.ids import shown, valid_id
from syncer.outcomes import Failure, FailureKind, RunSource
from syncer.sources.base import SourceId
from syncer.sources.seen_ids import SeenIds

_LINES_PER_READ = 2_000
MAX_LINE_CHARS = 1_024
"""The longest line read whole; past that the line is an invalid id (ids are 64 at most)."""
_SKIP_CHARS = 64 * 1024
BOM = "\ufeff"
DEDUPE_WINDOW = 2_000_000
"""Distinct ids remembered for dropping duplicates (`SeenIds`: 64 MB at most). Past that a
repeated id is fetched again, which is harmless: its second write counts as `unchanged`."""


def _lines(handle: IO[str]) -> Iterator[tuple[str, bool]]:
    """Each line of `handle` (at most `MAX_LINE_CHARS` of it) and whether it was cut short."""
    first = True
    while True:
        line = handle.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        if first:
            line, first = line.removeprefix(BOM), False
        cut = len(line) > MAX_LINE_CHARS and not line.endswith("\n")
        while cut:  # skip the rest of an overlong line without keeping it
            rest = handle.readline(_SKIP_CHARS)
            if not rest or rest.endswith("\n"):
                break
        yield line[:MAX_LINE_CHARS], cut


def _clean(lines: Iterator[tuple[str, bool]]) -> Iterator[SourceId]:
    seen = SeenIds(DEDUPE_WINDOW)
    for number, (raw, cut) in enumerate(lines, start=1):
        text = raw.rstrip("\r\n").strip(" \t")
        if not text or text.startswith("#"):
            continue
        if cut or not valid_id(text):
            reported = shown(text)
            why = f"longer than {MAX_LINE_CHARS} characters" if cut else "not 1-64 of [A-Za-z0-9._-]"
            message = f"line {number}: {why}"
            yield SourceId(reported, line=number, rejected=Failure(reported, FailureKind.INVALID_ID, message))
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
    cleaned = _clean(_lines(handle))
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


class FileSource:
    """A file's ids (or any source's, e.g. the demo's): failures are only recorded, never deferred."""

    name = RunSource.FILE
    fence = None

    def __init__(self, items: AsyncIterator[SourceId]) -> None:
        self._items = items

    @classmethod
    def open(cls, spec: str, shard: tuple[int, int] | None = None) -> FileSource:
        items = file_ids(spec)
        return cls(only_shard(items, shard) if shard else items)

    def ids(self, stop: anyio.Event) -> AsyncIterator[SourceId]:
        return self._items

    def retry_policy(self, max_attempts: int) -> RetryPolicy:
        return RetryPolicy(max_attempts=max_attempts)

    async def settle(self, failures: Sequence[Failure]) -> set[str]:
        return set()

    async def background(self) -> None:
        return

    async def release(self) -> None:
        aclose = getattr(self._items, "aclose", None)
        if aclose is not None:
            await aclose()
