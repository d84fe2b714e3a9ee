"""The one schema definition: SQLModel tables for PostgreSQL and SQLite alike.

Three column types smooth over what SQLite lacks, so both backends store the same values:
- `UtcDateTime`: timestamptz on PostgreSQL; on SQLite a fixed-width UTC text that sorts
  chronologically (the version guards compare it in SQL). Always read back as aware UTC.
- `ExactDecimal`: numeric on PostgreSQL; on SQLite the decimal's text, never a float.
- `TextList`: text[] on PostgreSQL; JSON text on SQLite.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from syncer.outcomes import QueueStatus


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ExactDecimal(sa.types.TypeDecorator[Decimal]):
    impl = sa.Numeric(asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(sa.Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


class TextList(sa.types.TypeDecorator[tuple[str, ...]]):
    impl = sa.Text()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(sa.Text()))
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: tuple[str, ...] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return list(value) if dialect.name == "postgresql" else json.dumps(list(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[str, ...] | None:
        if value is None:
            return None
        return tuple(value) if isinstance(value, list) else tuple(json.loads(value))


class _Jsonb(sa.types.UserDefinedType[str]):
    """jsonb bound and read as JSON text: no SQLAlchemy JSON (de)serialisation in the way."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "JSONB"

    def column_expression(self, colexpr: Any) -> Any:
        """Read jsonb as its text, so numbers stay exact (a JSON codec would make floats)."""
        return sa.cast(colexpr, sa.Text())


class JsonDocument(sa.types.TypeDecorator[str]):
    """jsonb on PostgreSQL, text on SQLite; bound and read as JSON text (numbers exact)."""

    impl = sa.Text()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return _Jsonb()
        return dialect.type_descriptor(sa.Text())


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(UtcDateTime(), nullable=nullable, index=index))


def _local() -> Any:
    """A wall-clock reading in the location's zone (timestamp without time zone)."""
    return Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=False), nullable=True))


def _num() -> Any:
    return Field(default=None, sa_column=sa.Column(ExactDecimal(), nullable=True))


class Session(SQLModel, table=True):
    __tablename__ = "sessions"
    id: str = Field(primary_key=True)
    cpo_session_id: str | None = None
    country_code: str | None = None
    party_id: str | None = None
    location_id: str | None = Field(default=None, index=True)
    evse_uid: str | None = None
    connector_id: str | None = None
    cpo_id: str | None = None
    auth_id: str | None = None
    auth_method: str | None = None
    currency: str | None = None
    status: str | None = None
    start_datetime: datetime | None = _ts(index=True)
    end_datetime: datetime | None = _ts()
    created_date: datetime | None = _ts()
    last_modified_date: datetime | None = _ts()
    kwh: Decimal | None = _num()
    total_cost: Decimal | None = _num()
    total_cost_incl_vat: Decimal | None = _num()
    last_updated: datetime = _ts(nullable=False)
    synced_at: datetime | None = _ts()
    connector_uid: str | None = None
    vendor_connector_ref: str | None = None
    local_start_datetime: datetime | None = _local()
    local_end_datetime: datetime | None = _local()
    last_run_id: str | None = None


class ChargingPeriod(SQLModel, table=True):
    """`session_id` holds `sessions.id` but is not a declared foreign key (see migrate v2)."""

    __tablename__ = "charging_periods"
    __table_args__ = (sa.Index("charging_periods_start", "start_date_time"),)
    session_id: str = Field(sa_column=sa.Column(sa.Text(), primary_key=True))
    period_index: int = Field(primary_key=True)
    dimension_index: int = Field(primary_key=True)
    start_date_time: datetime | None = _ts()
    dimension_type: str | None = None
    volume: Decimal | None = _num()
    last_run_id: str | None = None


class Location(SQLModel, table=True):
    __tablename__ = "locations"
    location_id: str = Field(primary_key=True)
    gateway_id: str | None = None
    name: str | None = None
    address: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None
    country_code: str | None = None
    party_id: str | None = None
    type: str | None = None
    operator_name: str | None = None
    operator_website: str | None = None
    cpo_id: str | None = None
    cpo_resource_id: str | None = None
    time_zone: str | None = None
    latitude: Decimal | None = _num()
    longitude: Decimal | None = _num()
    rating: Decimal | None = _num()
    twentyfourseven: bool | None = None
    charging_when_closed: bool | None = None
    publish: bool | None = None
    created_date: datetime | None = _ts()
    last_modified_date: datetime | None = _ts()
    synced_at: datetime | None = _ts()
    time_zone_iana: str | None = None
    last_run_id: str | None = None


class Evse(SQLModel, table=True):
    __tablename__ = "evses"
    location_id: str = Field(primary_key=True)
    uid: str = Field(primary_key=True)
    gateway_id: str | None = None
    evse_id: str | None = None
    status: str | None = None
    floor_level: str | None = None
    physical_reference: str | None = None
    capabilities: tuple[str, ...] | None = Field(default=None, sa_column=sa.Column(TextList(), nullable=True))
    latitude: Decimal | None = _num()
    longitude: Decimal | None = _num()
    last_updated: datetime | None = _ts()
    synced_at: datetime | None = _ts()
    last_run_id: str | None = None


class Connector(SQLModel, table=True):
    __tablename__ = "connectors"
    location_id: str = Field(primary_key=True)
    evse_uid: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    standard: str | None = None
    format: str | None = None
    power_type: str | None = None
    tariff_id: str | None = None
    voltage: Decimal | None = _num()
    amperage: Decimal | None = _num()
    max_electric_power: Decimal | None = _num()
    last_updated: datetime | None = _ts()
    synced_at: datetime | None = _ts()
    last_run_id: str | None = None


class RawSession(SQLModel, table=True):
    __tablename__ = "raw_sessions"
    id: str = Field(
        sa_column=sa.Column(sa.Text(), sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True)
    )
    document: str = Field(sa_column=sa.Column(JsonDocument(), nullable=False))
    last_updated: datetime = _ts(nullable=False)
    fetched_at: datetime | None = _ts()
    last_run_id: str | None = None


class SyncQueue(SQLModel, table=True):
    __tablename__ = "sync_queue"
    __table_args__ = (
        sa.Index("sync_queue_claim", "status", "available_at"),
        sa.Index("sync_queue_lease", "lease_token"),
    )
    id: str = Field(primary_key=True)
    status: str = Field(default=QueueStatus.PENDING)
    attempts: int = Field(default=0)
    available_at: datetime | None = _ts()
    leased_until: datetime | None = _ts()
    lease_token: str | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    enqueued_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class SyncFailure(SQLModel, table=True):
    __tablename__ = "sync_failures"
    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(index=True)
    run_id: str = Field(index=True)
    kind: str
    http_status: int | None = None
    message: str | None = None
    at: datetime | None = _ts()


class SyncRun(SQLModel, table=True):
    __tablename__ = "sync_runs"
    run_id: str = Field(primary_key=True)
    started_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()
    source: str | None = None
    status: str | None = None
    exit_code: int | None = None
    requested: int = 0
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    not_found: int = 0
    failed: int = 0
    deferred: int = 0
    lease_lost: int = 0
    retries: int = 0
    duration_s: float | None = None
    sessions_per_s: float | None = None
    heartbeat_at: datetime | None = _ts()
    """Written while the run lives (every progress interval, at most a minute apart); a
    `running` row whose heartbeat is long gone belonged to a process that died: `abandoned`."""
    syncer_version: str | None = None
    gateway_url: str | None = None
    """The gateway base URL the run used, without credentials."""


class SyncWorker(SQLModel, table=True):
    """One live worker process sharing the gateway budget (`--global-rate`); see
    `warehouse/workers.py`. A row whose `expires_at` has passed belongs to a worker that died."""

    __tablename__ = "sync_workers"
    worker_id: str = Field(primary_key=True)
    run_id: str | None = None
    host: str | None = None
    pid: int | None = None
    started_at: datetime | None = _ts()
    heartbeat_at: datetime | None = _ts()
    expires_at: datetime | None = _ts()


class SchemaVersion(SQLModel, table=True):
    __tablename__ = "syncer_schema"
    version: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True, autoincrement=False))
    applied_at: datetime | None = _ts()


DATA_TABLES = (Session, ChargingPeriod, Location, Evse, Connector, RawSession)
