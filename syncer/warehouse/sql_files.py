"""Hand-written SQL lives in the top-level `sql/` folder (the package `syncer.sql` in the wheel),
loaded once by name; parameters are always bound, never formatted in."""

from __future__ import annotations

from functools import cache
from importlib import resources

import sqlalchemy as sa


@cache
def sql_text(name: str) -> str:
    """The text of `sql/<name>.sql` (`name` may hold a folder: `views/session_facts`)."""
    return resources.files("syncer.sql").joinpath(f"{name}.sql").read_text(encoding="utf-8")


@cache
def query(name: str) -> sa.TextClause:
    return sa.text(sql_text(name))
