"""`syncer dictionary` and `syncer grant` as the real CLI: output, and one line + exit 2 for a bad
option (never a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.warehouse.dictionary_render import FILES
from tests.e2e.cli import syncer

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("fmt", ["markdown", "dbt"])
def test_dictionary_prints_the_checked_in_file(fmt: str) -> None:
    result = syncer("dictionary", "--format", fmt)
    assert result.code == 0, result.stderr
    assert result.stdout == (ROOT / FILES[fmt]).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["dictionary", "--format", "html"], "--format"),
        (["grant", "reader", "someone"], "analyst or writer"),
        (["grant", "analyst", "someone", "--database-url", "sqlite:///{tmp}/x.db"], "PostgreSQL only"),
        (["grant", "analyst", "someone", "--db-schema", "Bad-Name"], "--db-schema"),
    ],
)
def test_bad_usage_exits_2_with_one_line(args: list[str], says: str, tmp_path: Path) -> None:
    result = syncer(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert "Traceback" not in result.stderr
