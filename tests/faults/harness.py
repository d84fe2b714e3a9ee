"""Drive the real worker in-process against the sandbox gateway over real sockets, then read
back what it left: the warehouse tables, `sync_failures`, `sync_runs`, and the sandbox's own
request log and counters."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from syncer.ids import valid_id
from syncer.pipeline.start import run_ids
from syncer.sandbox import SandboxConfig
from syncer.sandbox.generate import session_body
from syncer.settings import load_settings
from syncer.sources.base import SourceId
from syncer.sources.file import file_ids
from syncer.warehouse import schema
from syncer.warehouse.store import Store

Row = dict[str, Any]


@dataclass
class Tables:
    sessions: dict[str, Row]
    periods: dict[str, list[Row]]
    """charging_periods rows by session id, in key order."""
    raw: dict[str, str]
    """raw_sessions.document by id."""
    failures: dict[str, Row]
    """The last sync_failures row of each id."""
    failure_rows: list[Row]
    """Every sync_failures row, in insertion order."""
    runs: list[Row]


async def read_tables(database_url: str) -> Tables:
    def table(name: str) -> sa.Table:
        return schema.SQLModel.metadata.tables[name]

    async with Store.open(database_url) as store, store.engine.connect() as conn:

        async def rows(name: str, *order: str) -> list[Row]:
            t = table(name)
            result = await conn.execute(sa.select(t).order_by(*(t.c[o] for o in order)))
            return [dict(row._mapping) for row in result]

        sessions = {row["id"]: row for row in await rows("sessions", "id")}
        periods: dict[str, list[Row]] = {}
        for row in await rows("charging_periods", "session_id", "period_index", "dimension_index"):
            periods.setdefault(row["session_id"], []).append(row)
        raw = {row["id"]: row["document"] for row in await rows("raw_sessions", "id")}
        failure_rows = await rows("sync_failures", "pk")
        runs = await rows("sync_runs", "started_at")
    # The relation the schema does not declare as a foreign key (migrate v2): every period row
    # and raw document belongs to a stored session. Checked on every read of the tables.
    orphans = (set(periods) | set(raw)) - set(sessions)
    assert not orphans, f"period rows or raw documents without a session: {sorted(orphans)[:5]}"
    return Tables(sessions, periods, raw, {row["id"]: row for row in failure_rows}, failure_rows, runs)


async def listed(ids: Iterable[str]) -> AsyncIterator[SourceId]:
    """A source that trusts its ids (as a queue might): the client must still check them."""
    for id in ids:
        yield SourceId(id)


def id_file(path: Path, ids: Iterable[str]) -> Path:
    path.write_text("# ids\n" + "".join(f"{id}\n" for id in ids), encoding="utf-8")
    return path


async def sync(
    gateway_url: str, database_url: str, source: AsyncIterator[SourceId] | Path, **options: Any
) -> int:
    """One `syncer run` in this process; returns its exit code."""
    settings = load_settings(gateway_url=gateway_url, database_url=database_url, **options)
    ids = file_ids(str(source)) if isinstance(source, Path) else source
    return await run_ids(settings, ids)


def root(gateway_url: str) -> str:
    """Where the sandbox's control plane lives."""
    return gateway_url.split("/api/", 1)[0]


async def sandbox_requests(gateway_url: str) -> list[Row]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{root(gateway_url)}/_sandbox/requests")
    records: list[Row] = response.json()["requests"]
    return records


async def sandbox_stats(gateway_url: str) -> Row:
    async with httpx.AsyncClient() as client:
        stats: Row = (await client.get(f"{root(gateway_url)}/_sandbox/stats")).json()
    return stats


def requested_ids(requests: list[Row], prefix: str = "/api/v1") -> list[str]:
    """The ids the gateway was asked for, after checking every request went to a session path:
    GET {prefix}/sessions/<a valid id>, nothing escaped, no query string, nothing else."""
    pattern = re.compile(re.escape(prefix) + r"/sessions/([A-Za-z0-9._-]{1,64})")
    ids = []
    for record in requests:
        match = pattern.fullmatch(record["path"])
        assert match is not None, record
        assert valid_id(match.group(1)), record
        assert (record["method"], record["query"]) == ("GET", ""), record
        ids.append(match.group(1))
    return ids


def expected_data(id: str, config: SandboxConfig, generation: int = 0) -> Row:
    """The `data` object the sandbox serves for `id`, numbers as exact Decimals."""
    body = session_body(id, generation, config.seed, config.locations)
    data: Row = json.loads(body, parse_float=Decimal)["data"]
    return data


def assert_synced_exactly(tables: Tables, ids: Iterable[str], config: SandboxConfig) -> None:
    """Each id is stored whole and exact: its session with the document's numbers, one period
    row per dimension (one for a period without), and the raw document as served."""
    for id in ids:
        data = expected_data(id, config)
        session = tables.sessions.get(id)
        assert session is not None, f"{id} was not synced"
        assert session["kwh"] == Decimal(str(data["kwh"])), id
        assert session["last_updated"] is not None, id
        cost = data["total_cost"]
        if isinstance(cost, dict):
            cost = cost["excl_vat"]
        assert session["total_cost"] == (None if cost is None else Decimal(str(cost))), id

        expected_periods = []
        for i, period in enumerate(data["charging_periods"]):
            dimensions = period["dimensions"] or [{"type": None, "volume": None}]
            for j, dimension in enumerate(dimensions):
                volume = dimension["volume"]
                expected_periods.append(
                    (i, j, dimension["type"], None if volume is None else Decimal(volume))
                )
        stored = [
            (p["period_index"], p["dimension_index"], p["dimension_type"], p["volume"])
            for p in tables.periods.get(id, [])
        ]
        assert len(stored) >= 1, id
        assert stored == expected_periods, id

        assert json.loads(tables.raw[id], parse_float=Decimal) == data, id
