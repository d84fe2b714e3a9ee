"""The data dictionary is the single source: the checked-in PostgreSQL comments, docs/warehouse.md
and the dbt sources.yml are exactly its renderings (regenerate: python -m
syncer.warehouse.dictionary_render), and it describes exactly the columns of the schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from syncer.warehouse import schema
from syncer.warehouse.dictionary import RELATIONS
from syncer.warehouse.dictionary_render import FILES, render

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("fmt", sorted(FILES))
def test_the_checked_in_file_is_the_dictionary(fmt: str) -> None:
    assert (ROOT / FILES[fmt]).read_text(encoding="utf-8") == render(fmt), (
        f"{FILES[fmt]} is stale: run python -m syncer.warehouse.dictionary_render"
    )


def test_every_table_column_is_described_and_nothing_else() -> None:
    tables = {
        name: [c.name for c in table.columns] for name, table in schema.SQLModel.metadata.tables.items()
    }
    described = {r.name: [c.name for c in r.columns] for r in RELATIONS if r.kind == "table"}
    assert {n: sorted(c) for n, c in described.items()} == {n: sorted(c) for n, c in tables.items()}


def test_every_relation_and_column_says_something() -> None:
    for relation in RELATIONS:
        assert relation.description.strip(), relation.name
        names = [c.name for c in relation.columns]
        assert len(names) == len(set(names)), relation.name
        for column in relation.columns:
            assert column.meaning.strip().endswith((".", ")")), (relation.name, column.name)


def test_the_dbt_sources_check_freshness_on_synced_at() -> None:
    text = render("dbt")
    block = text.split("      - name: sessions\n", 1)[1].split("      - name:", 1)[0]
    assert "loaded_at_field: synced_at" in block and "warn_after" in block
    assert "- name: sync_queue" not in text and "- name: raw_sessions" not in text  # not for analysts


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_the_views_round_by_the_documented_minor_units(dialect: str) -> None:
    from syncer.warehouse.dictionary_render import MINOR_UNITS

    sql = (ROOT / "sql" / "views" / f"session_facts.{dialect}.sql").read_text(encoding="utf-8")
    in_sql = {code: int(digits) for code, digits in re.findall(r"WHEN '([A-Z]{3})' THEN (\d)", sql)}
    documented = {code: digits for digits, codes in MINOR_UNITS.items() for code in codes.split()}
    assert in_sql == documented
    assert "ELSE 2" in sql
