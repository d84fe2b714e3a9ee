"""Hand-written SQL lives in `sql/*.sql`, loaded once by name; parameters are always bound."""

from __future__ import annotations

from functools import cache
from importlib import resources

import sqlalchemy as sa


@cache
def query(name: str) -> sa.TextClause:
    text = resources.files("syncer").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
    return sa.text(text)
