"""The row values flatten produces and the tables the store writes stay in step."""

from __future__ import annotations

import pytest

from syncer.documents.rows import ConnectorRow, EvseRow, LocationRow, PeriodRow, RawRow, SessionRow, columns
from syncer.outcomes import RunSummary
from syncer.warehouse import schema

STORE_FILLED = {"synced_at", "fetched_at", "last_run_id"}


@pytest.mark.parametrize(
    ("row", "table"),
    [
        (SessionRow, schema.Session),
        (PeriodRow, schema.ChargingPeriod),
        (LocationRow, schema.Location),
        (EvseRow, schema.Evse),
        (ConnectorRow, schema.Connector),
        (RawRow, schema.RawSession),
    ],
)
def test_row_fields_are_the_table_columns(row: type, table: type) -> None:
    table_columns = {c.name for c in table.__table__.columns}  # type: ignore[attr-defined]
    assert set(columns(row)) == table_columns - STORE_FILLED


def test_every_summary_count_has_a_sync_runs_column() -> None:
    columns = {c.name for c in schema.SyncRun.__table__.columns}  # type: ignore[attr-defined]
    assert set(RunSummary().as_dict()) <= columns
