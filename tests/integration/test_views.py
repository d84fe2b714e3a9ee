"""The analyst views on known data, on both backends: the vendor's sample synced gives the
expected row in each view (its connector, duration, period ends, local times), and on SQLite
money and energy compare, sort and aggregate as numbers. On PostgreSQL the views' common
filters reach an index (EXPLAIN with sequential scans disabled shows none on charging_periods)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from syncer.documents.flatten import flatten_body
from syncer.warehouse.store import Store
from tests.unit.docs_factory import SEED_ID, body

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CONNECTOR = "3fff37bfc17e66bc519c25fcfa65eaea"


async def synced(url: str, changes: dict[str, Any] | None = None, *more: tuple[str, dict[str, Any]]) -> Store:
    store = Store.open(url)
    bundles = [flatten_body(body(changes), SEED_ID)]
    bundles += [flatten_body(body({"id": id, **c}), id) for id, c in more]
    await store.write(bundles, now=NOW, run_id="run-1")
    return store


async def rows(store: Store, sql: str) -> list[dict[str, Any]]:
    async with store.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(sa.text(sql))).mappings()]


def number(value: Any) -> Decimal:
    """A view's number as a Decimal (PostgreSQL: numeric; SQLite: REAL, compared at 6 places)."""
    return value if isinstance(value, Decimal) else Decimal(str(round(value, 6)))


def local(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


async def test_the_sample_in_session_facts(database_url: str) -> None:
    async with await synced(database_url) as store:
        [row] = await rows(store, "SELECT * FROM session_facts")
    assert row["session_id"] == SEED_ID
    assert (row["connector_uid"], row["power_type"], row["standard"]) == (
        CONNECTOR,
        "AC_1_PHASE",
        "DOMESTIC_E",
    )
    assert row["evse_id"] == "IN*111*EAMP03*1"  # what the vendor's connectorId holds
    assert number(row["max_power_kw"]) == Decimal("3.22")  # 230 V x 14 A
    assert number(row["duration_s"]) == 564  # 12:35:44 -> 12:45:08
    assert number(row["kwh"]) == Decimal("0.11429")
    assert number(row["total_cost"]) == number(row["total_cost_rounded"]) == Decimal("1.71")
    assert row["currency_minor_unit"] == 2
    assert number(row["price_per_kwh"]) == Decimal("14.9619")  # 1.71 / 0.11429, 4 places
    assert row["time_zone"] is None and row["local_start_datetime"] is None  # no time_zone sent
    assert row["last_run_id"] == "run-1"


async def test_the_sample_at_ist_has_india_local_times_and_day(database_url: str) -> None:
    async with await synced(database_url, {"location.time_zone": "IST"}) as store:
        [fact] = await rows(store, "SELECT * FROM session_facts")
        [day] = await rows(store, "SELECT * FROM daily_location_energy")
        [place] = await rows(store, "SELECT time_zone, time_zone_iana FROM locations")
    assert place == {"time_zone": "IST", "time_zone_iana": "Asia/Kolkata"}
    assert fact["time_zone"] == "Asia/Kolkata"
    assert local(fact["local_start_datetime"]) == datetime(2022, 3, 14, 18, 5, 44)
    assert local(fact["local_end_datetime"]) == datetime(2022, 3, 14, 18, 15, 8)
    assert str(day["local_date"]) == str(date(2022, 3, 14))
    assert (day["sessions"], day["currency"]) == (1, "INR")
    assert number(day["kwh"]) == Decimal("0.11429") and number(day["revenue"]) == Decimal("1.71")


async def test_the_samples_periods_end_where_the_next_starts(database_url: str) -> None:
    async with await synced(database_url) as store:
        periods = await rows(store, "SELECT * FROM charging_period_facts ORDER BY period_index")
    assert len(periods) == 20  # one row per period (the table has one per dimension)
    first, last = periods[0], periods[-1]
    assert local(first["period_end"]).replace(tzinfo=None) == datetime(2022, 3, 14, 12, 36, 27)
    assert number(first["duration_s"]) == 30
    assert number(first["energy_kwh"]) == Decimal("0.001")
    assert local(periods[13]["period_end"]).replace(tzinfo=None) == datetime(2022, 3, 14, 12, 43)
    assert number(periods[13]["duration_s"]) == 33  # 12:42:27 -> 12:43:00
    # the last period ends with its session (12:45:08); it holds parking time only
    assert local(last["period_end"]).replace(tzinfo=None) == datetime(2022, 3, 14, 12, 45, 8)
    assert last["energy_kwh"] is None and number(last["parking_time_h"]) == Decimal("0.002")
    energy = sum(number(p["energy_kwh"]) for p in periods if p["energy_kwh"] is not None)
    assert energy == Decimal("0.109")  # the meter samples; sessions.kwh (0.11429) is the billed value


async def test_money_and_energy_compare_sort_and_aggregate_as_numbers(database_url: str) -> None:
    # As text, '98.01' > '477.88' and max() would say 98.01.
    more = [
        ("big", {"kwh": Decimal("477.88"), "total_cost": Decimal("47.919999999999995"), "currency": "JPY"}),
        ("small", {"kwh": Decimal("98.01"), "total_cost": Decimal("9.005"), "currency": "KWD"}),
    ]
    async with await synced(database_url, None, *more) as store:
        [top] = await rows(store, "SELECT max(kwh) AS m FROM session_facts")
        order = await rows(store, "SELECT session_id FROM session_facts ORDER BY kwh DESC")
        over = await rows(store, "SELECT count(*) AS n FROM session_facts WHERE kwh > 10")
        money = await rows(
            store, "SELECT session_id, total_cost_rounded FROM session_facts ORDER BY session_id"
        )
    assert number(top["m"]) == Decimal("477.88")
    assert [r["session_id"] for r in order] == ["big", "small", SEED_ID]
    assert over[0]["n"] == 2
    rounded = {r["session_id"]: number(r["total_cost_rounded"]) for r in money}
    assert rounded["big"] == 48  # JPY has no minor unit: the float artefact is gone
    assert rounded["small"] == Decimal("9.005")  # KWD keeps 3 places
    assert rounded[SEED_ID] == Decimal("1.71")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM charging_period_facts WHERE session_id = 'x'",
        "SELECT * FROM charging_period_facts"
        " WHERE period_start >= '2022-03-01T00:00:00Z' AND period_start < '2022-04-01T00:00:00Z'",
        "SELECT * FROM session_facts WHERE start_datetime >= '2022-03-01T00:00:00Z'"
        " AND start_datetime < '2022-04-01T00:00:00Z'",
    ],
)
async def test_common_filters_use_an_index(pg_url: str, query: str) -> None:
    async with await synced(pg_url) as store, store.engine.connect() as conn:
        await conn.execute(sa.text("SET enable_seqscan = off"))  # a scan left then has no index
        plan = "\n".join((await conn.execute(sa.text(f"EXPLAIN {query}"))).scalars())
    assert "Seq Scan on charging_periods" not in plan, plan
    assert "Seq Scan on sessions" not in plan, plan
