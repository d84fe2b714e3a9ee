"""The terminal progress line: only on a terminal, and it says what happened."""

from __future__ import annotations

import pytest

from syncer.observe import progress
from syncer.outcomes import RunSummary


def test_render_counts_and_rate() -> None:
    summary = RunSummary(requested=12, inserted=6, updated=2, unchanged=2, not_found=1, failed=1)
    text = progress.render(summary, elapsed=2.0).plain
    assert "12 read" in text
    assert "10 synced" in text
    assert "(6 new, 2 updated, 2 unchanged)" in text
    assert "1 not found" in text
    assert "1 failed" in text
    assert text.endswith("5/s")


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
