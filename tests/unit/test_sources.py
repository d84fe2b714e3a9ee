"""Id sources: lazy, comment- and blank-skipping, de-duplicating, validating."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from syncer.errors import ConfigError
from syncer.sources import file as sources
from syncer.sources.base import SourceId
from syncer.sources.file import file_ids


async def collect(spec: str) -> list[SourceId]:
    return [item async for item in file_ids(spec)]


async def test_blank_lines_comments_case_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_text("# header\n\nABC-1\n  abc-1  \nb.2\n# another\nb.2\r\nc_3\n")
    got = await collect(str(path))
    assert [i.id for i in got] == ["abc-1", "b.2", "c_3"]
    assert all(i.valid for i in got)
    assert [i.line for i in got] == [3, 5, 8]


async def test_invalid_ids_are_flagged_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    hostile = [
        "../x",
        "a/b",
        "%2e%2e",
        "?q=1",
        "has space",
        "x" * 65,
        "ctl\x01",
        "'; DROP TABLE sessions;--",
        "..",
    ]
    path.write_text("\n".join(["ok", *hostile]) + "\n")
    got = await collect(str(path))
    assert got[0] == SourceId("ok", line=1)
    assert [i.valid for i in got[1:]] == [False] * len(hostile)
    # reported as shown(): control characters escaped (PostgreSQL refuses NUL in a failure row)
    assert [i.id for i in got[1:]] == [h.strip().replace("\x01", "\\x01") for h in hostile]


async def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--ids"):
        await collect(str(tmp_path / "nope.txt"))


async def test_reading_is_lazy(tmp_path: Path) -> None:
    """The reader pulls one chunk at a time: after the first id, far less than the file is read."""
    path = tmp_path / "big.txt"
    with path.open("w") as handle:
        for i in range(200_000):
            handle.write(f"id-{i}\n")
    reader = file_ids(str(path))
    first = await reader.__anext__()
    assert first.id == "id-0"
    frame = reader.ag_frame  # type: ignore[attr-defined]
    handle = frame.f_locals["handle"]
    assert handle.buffer.tell() < path.stat().st_size / 10
    await reader.aclose()
    assert handle.closed


async def test_stdin_is_read_with_dash(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "stdin.txt"
    path.write_text("x1\nx2\nx1\n")
    with path.open() as handle:
        monkeypatch.setattr(sys, "stdin", handle)
        got = await collect("-")
    assert [i.id for i in got] == ["x1", "x2"]


async def test_dedupe_window_bounds_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "DEDUPE_WINDOW", 2)
    path = tmp_path / "ids.txt"
    path.write_text("a\nb\na\nc\nc\n")
    # a and b are remembered; c is past the window, so its repeat is passed on (harmless: unchanged)
    assert [i.id for i in await collect(str(path))] == ["a", "b", "c", "c"]
