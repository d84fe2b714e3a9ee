"""Typed handles of the schema's tables, for SQLAlchemy Core statements.

SQLModel declares `Model.__table__` only at run time (mypy cannot see it); these are the same
`sa.Table` objects, looked up by name in the one metadata (a test checks each is its model's).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

from syncer.warehouse import schema


def table(name: str) -> sa.Table:
    """The schema's table `name` (a KeyError for a table the schema does not define)."""
    return SQLModel.metadata.tables[name]


SESSIONS = table(schema.Session.__tablename__)
PERIODS = table(schema.ChargingPeriod.__tablename__)
LOCATIONS = table(schema.Location.__tablename__)
EVSES = table(schema.Evse.__tablename__)
CONNECTORS = table(schema.Connector.__tablename__)
RAW = table(schema.RawSession.__tablename__)
QUEUE = table(schema.SyncQueue.__tablename__)
FAILURES = table(schema.SyncFailure.__tablename__)
RUNS = table(schema.SyncRun.__tablename__)
SCHEMA_VERSIONS = table(schema.SchemaVersion.__tablename__)
WORKERS = table(schema.SyncWorker.__tablename__)
