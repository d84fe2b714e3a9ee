"""Build SessionBundles directly from rows, so store tests don't depend on the parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from syncer.documents.rows import (
    ConnectorRow,
    EvseRow,
    LocationRow,
    PeriodRow,
    RawRow,
    SessionBundle,
    SessionRow,
)
from syncer.warehouse import schema
from syncer.warehouse.store import Store

T0 = datetime(2022, 3, 14, 12, 45, 8, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def bundle(
    id: str,
    version: float = 0,
    *,
    periods: int = 3,
    kwh: str = "0.11429",
    location: str | None = "loc-1",
    location_version: float | None = 0,
    evse_uids: tuple[str, ...] = ("amp03*1",),
) -> SessionBundle:
    lu = at(version)
    session = SessionRow(
        id=id,
        last_updated=lu,
        location_id=location,
        kwh=Decimal(kwh),
        total_cost=Decimal("1.71"),
        status="COMPLETED",
        currency="INR",
        start_datetime=at(-10),
    )
    rows = tuple(
        PeriodRow(id, i, d, at(-10 + i), "ENERGY" if d == 0 else "TIME", Decimal(f"0.00{i + 1}"))
        for i in range(periods)
        for d in range(2 if i % 2 else 1)
    )
    place = evses = connectors = ()
    loc = None
    if location:
        lv = at(location_version) if location_version is not None else None
        loc = LocationRow(
            location_id=location,
            name=f"Lab {location_version} ",
            latitude=Decimal("12.87667"),
            last_modified_date=lv,
        )
        evses = tuple(
            EvseRow(location, uid, capabilities=("RFID_READER",), last_updated=lv) for uid in evse_uids
        )
        connectors = tuple(
            ConnectorRow(location, uid, "1", voltage=Decimal(230), last_updated=lv) for uid in evse_uids
        )
    del place
    raw = RawRow(id, f'{{"id": "{id}", "kwh": {kwh}}}', lu)
    return SessionBundle(session, raw, rows, loc, evses, connectors)


TABLES = ("sessions", "charging_periods", "raw_sessions", "locations", "evses", "connectors")


async def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every data table, every column, in key order: for byte-for-byte comparisons."""
    out = {}
    async with store.engine.connect() as conn:
        for name in TABLES:
            table = schema.SQLModel.metadata.tables[name]
            result = await conn.execute(sa.select(table).order_by(*table.primary_key.columns))
            out[name] = [tuple(row) for row in result]
    return out
