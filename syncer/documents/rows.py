"""The warehouse rows `flatten` produces: plain immutable values, one class per table.

Field names are the table's column names, in the order of `columns()` (see `schema.py`; a test
keeps the two in step). The table rows are named tuples: a document makes about fifty of them,
and a named tuple is built three times faster than a frozen dataclass and is already the
plain record any writer takes.
Columns the store fills itself (`synced_at`, `fetched_at`, `last_run_id`) are not here: rows are pure data.
Key columns (`id`, `location_id`, `uid`, the evse and connector ids) are lower case.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple


class SessionRow(NamedTuple):
    id: str
    last_updated: datetime
    cpo_session_id: str | None = None
    country_code: str | None = None
    party_id: str | None = None
    location_id: str | None = None
    evse_uid: str | None = None
    connector_id: str | None = None
    cpo_id: str | None = None
    auth_id: str | None = None
    auth_method: str | None = None
    currency: str | None = None
    status: str | None = None
    start_datetime: datetime | None = None
    end_datetime: datetime | None = None
    created_date: datetime | None = None
    last_modified_date: datetime | None = None
    kwh: Decimal | None = None
    total_cost: Decimal | None = None
    total_cost_incl_vat: Decimal | None = None
    connector_uid: str | None = None
    vendor_connector_ref: str | None = None
    local_start_datetime: datetime | None = None
    local_end_datetime: datetime | None = None


class PeriodRow(NamedTuple):
    session_id: str
    period_index: int
    dimension_index: int
    start_date_time: datetime | None = None
    dimension_type: str | None = None
    volume: Decimal | None = None


class PeriodRows(tuple[PeriodRow, ...]):
    """Period rows as the hot reader made them, with the texts their values were read from:
    `received[k]` is row k's (start text, volume text), each the text as received where it says
    exactly what the value is (a full timestamp with its zone; a plain decimal), else None. A
    writer may use such a text instead of formatting the value again. Rows built or replaced
    anywhere else are a plain tuple without it, so texts never travel with rows not their own."""

    received: tuple[tuple[str | None, str | None], ...]


class LocationRow(NamedTuple):
    location_id: str
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
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    rating: Decimal | None = None
    twentyfourseven: bool | None = None
    charging_when_closed: bool | None = None
    publish: bool | None = None
    created_date: datetime | None = None
    last_modified_date: datetime | None = None
    time_zone_iana: str | None = None


class EvseRow(NamedTuple):
    location_id: str
    uid: str
    gateway_id: str | None = None
    evse_id: str | None = None
    status: str | None = None
    floor_level: str | None = None
    physical_reference: str | None = None
    capabilities: tuple[str, ...] | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    last_updated: datetime | None = None


class ConnectorRow(NamedTuple):
    location_id: str
    evse_uid: str
    id: str
    standard: str | None = None
    format: str | None = None
    power_type: str | None = None
    tariff_id: str | None = None
    voltage: Decimal | None = None
    amperage: Decimal | None = None
    max_electric_power: Decimal | None = None
    last_updated: datetime | None = None


@dataclass(frozen=True, slots=True)
class RawRow:
    id: str
    document: str
    """The `data` object as received, as JSON text (numbers kept exact)."""
    last_updated: datetime


@dataclass(frozen=True, slots=True)
class SessionBundle:
    """Everything one gateway document becomes; written together or not at all."""

    session: SessionRow
    raw: RawRow
    periods: tuple[PeriodRow, ...] = ()
    location: LocationRow | None = None
    evses: tuple[EvseRow, ...] = ()
    connectors: tuple[ConnectorRow, ...] = field(default=())

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def last_updated(self) -> datetime:
        return self.session.last_updated


def columns(cls: type[Any]) -> tuple[str, ...]:
    """A row class's column names, in record order."""
    return tuple(cls._fields) if hasattr(cls, "_fields") else tuple(f.name for f in fields(cls))
