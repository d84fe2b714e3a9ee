"""The terminal progress line: only on a terminal, and it says what happened."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.observe import progress
from syncer.outcomes import RunSummary


def test_the_bar_says_done_of_total_percentage_eta_rate_and_counts() -> None:
    summary = RunSummary(requested=12, inserted=6, updated=2, unchanged=2, not_found=1, failed=1)
    text = progress.describe(summary, elapsed=2.0, total=24).plain
    assert "12/24  50.0% ETA 0:00:02" in text
    assert "6 sessions/s" in text
    assert "6 new, 2 updated, 2 unchanged" in text
    assert "1 not found" in text
    assert "1 failed" in text


def test_without_a_total_the_bar_counts() -> None:
    summary = RunSummary(requested=3, inserted=3, retries=2)
    text = progress.describe(summary, elapsed=1.0).plain
    assert "3 done" in text and "%" not in text and "ETA" not in text
    assert "2 retries" in text


def test_line_count_is_the_total_of_a_file(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x\ny\n\n# c\nz")  # no final newline: the last line counts
    (tmp_path / "b").write_bytes(b"")
    assert progress.line_count(str(tmp_path / "a")) == 5
    assert progress.line_count(str(tmp_path / "b")) == 0
    assert progress.line_count(str(tmp_path / "missing")) is None


@pytest.mark.parametrize(
    ("tty", "setting", "expected"),
    [
        (True, None, True),
        (True, True, True),
        (True, False, False),
        (False, True, False),
        (False, None, False),
    ],
)
def test_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tty: bool, setting: bool | None, expected: bool
) -> None:
    monkeypatch.setattr(progress.sys.stderr, "isatty", lambda: tty)
    assert progress.wanted(setting) is expected
