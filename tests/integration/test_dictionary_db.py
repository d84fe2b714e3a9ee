"""A migrated database holds exactly the tables, views and columns the dictionary describes, and
on PostgreSQL each of them carries the dictionary's text as its comment (`\\d+` shows it)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from syncer.warehouse.dictionary import RELATIONS
from syncer.warehouse.dictionary_render import column_comment
from syncer.warehouse.store import Store


def _columns(sync_conn: sa.Connection) -> dict[str, list[str]]:
    inspector = sa.inspect(sync_conn)
    names = inspector.get_table_names() + inspector.get_view_names()
    return {name: sorted(c["name"] for c in inspector.get_columns(name)) for name in names}


async def test_the_database_has_what_the_dictionary_describes(database_url: str) -> None:
    async with Store.open(database_url) as store, store.engine.connect() as conn:
        found = await conn.run_sync(_columns)
    described = {r.name: sorted(c.name for c in r.columns) for r in RELATIONS}
    assert found == described


COMMENTS = """
SELECT c.relname AS relation, NULL AS column, obj_description(c.oid, 'pg_class') AS comment
FROM pg_class AS c
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'v')
UNION ALL
SELECT c.relname, a.attname, col_description(c.oid, a.attnum)
FROM pg_class AS c
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'v')
"""


@pytest.mark.postgres
async def test_postgresql_comments_are_the_dictionary(pg_url: str) -> None:
    async with Store.open(pg_url) as store, store.engine.connect() as conn:
        rows = (await conn.execute(sa.text(COMMENTS))).all()
    found: dict[tuple[str, Any], str | None] = {(r.relation, r.column): r.comment for r in rows}
    expected: dict[tuple[str, Any], str | None] = {}
    for relation in RELATIONS:
        expected[(relation.name, None)] = relation.description
        for column in relation.columns:
            expected[(relation.name, column.name)] = column_comment(column)
    assert found == expected
