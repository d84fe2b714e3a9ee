"""The PostgreSQL fast path of `Store.write`: COPY into staging tables, then set-based merges.

Same rules as the generic path in `store.py`, on the same connection and in the same
transaction, through asyncpg directly:

    1. COPY the batch's session rows into a temporary staging table.
    2. One statement upserts the new and strictly newer ones (`RETURNING` what it wrote) and
       reports the version stored before, for every id: inserted / updated / unchanged / stale.
    3. For the written sessions only: delete their periods and raw documents, and COPY the new
       ones straight into the tables (their session rows are locked by step 2).
    4. Locations, EVSEs and connectors: COPY into staging, then one guarded upsert per table
       (leaving out those this store committed at that version already: `PlacesSeen`).

Nothing that is not newer is touched, so an unchanged rerun locks and writes no row (and
writes next to no WAL: staging tables are temporary). The hand-written statements are in
`sql/pg_merge/*.sql`; every value is bound or copied, never formatted into SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from syncer.documents.rows import (
    ConnectorRow,
    EvseRow,
    LocationRow,
    PeriodRow,
    RawRow,
    SessionBundle,
    SessionRow,
    columns,
)
from syncer.outcomes import Outcome, classify
from syncer.warehouse import copy_text
from syncer.warehouse.places_seen import PlacesSeen
from syncer.warehouse.sql_files import sql_text
from syncer.warehouse.upsert import place_rows

__all__ = ["STAGING_TABLES", "merge", "supports"]

STAGING_TABLES = (
    "syncer_stage_sessions",
    "syncer_stage_locations",
    "syncer_stage_evses",
    "syncer_stage_connectors",
)


# The table rows are named tuples in column order: each is its own COPY record. The period
# rows go in COPY's text format instead (`copy_text`).
_SESSION_COLUMNS = columns(SessionRow)
_PERIOD_COLUMNS = columns(PeriodRow)
_LOCATION_COLUMNS = columns(LocationRow)
_EVSE_COLUMNS = columns(EvseRow)
_CONNECTOR_COLUMNS = columns(ConnectorRow)
_PERIOD_COPY_COLUMNS = (*_PERIOD_COLUMNS, "last_run_id")
_RAW_COLUMNS = (*columns(RawRow), "fetched_at", "last_run_id")


def supports(conn: AsyncConnection) -> bool:
    """Whether `merge` can run on this connection (PostgreSQL through asyncpg)."""
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "asyncpg"


async def merge(
    conn: AsyncConnection,
    bundles: list[SessionBundle],
    now: datetime,
    force: bool,
    seen: PlacesSeen | None = None,
    staged: list[tuple[str, list[Any]]] | None = None,
    run_id: str | None = None,
) -> dict[str, Outcome]:
    """Write one batch (one bundle per id, as `Store.write` merged it) inside `conn`'s open
    transaction; the outcome of every id. Places `seen` committed already are not staged again;
    the places staged are added to `staged`, for `seen` to remember once the transaction commits.
    Every row written gets `run_id` as its `last_run_id` (bound once in the merge statements)."""
    if not bundles:
        return {}
    raw = await conn.get_raw_connection()
    apg: asyncpg.Connection = raw.driver_connection
    if not apg.is_in_transaction():
        # SQLAlchemy's asyncpg adapter sends BEGIN with its first statement: make it so now,
        # or the statements below would each commit on their own.
        await conn.execute(sa.select(1))
    statement = "stage"
    try:
        await apg.execute(_sql("pg_merge/stage"))
        statement = "sessions"
        outcomes, written = await _merge_sessions(apg, bundles, now, force, run_id)
        statement = "children"
        await _replace_children(apg, [b for b in bundles if b.id in written], now, run_id)
        statement = "places"
        await _merge_places(apg, bundles, now, force, None if force else seen, staged, run_id)
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        # The same exception the generic path raises, so callers (the retry on deadlocks, the
        # worker's one-by-one fallback) cannot tell the two paths apart.
        raise sa.exc.DBAPIError.instance(
            f"pg_merge: {statement}", None, error, Exception, hide_parameters=True
        ) from None
    return outcomes


async def _merge_sessions(
    apg: asyncpg.Connection, bundles: Sequence[SessionBundle], now: datetime, force: bool, run_id: str | None
) -> tuple[dict[str, Outcome], set[str]]:
    await apg.copy_records_to_table(
        "syncer_stage_sessions",
        records=[b.session for b in bundles],
        columns=_SESSION_COLUMNS,
    )
    incoming = {b.id: b.last_updated for b in bundles}
    outcomes: dict[str, Outcome] = {}
    written: set[str] = set()
    lost: list[str] = []
    for id, stored, was_written, inserted in await apg.fetch(_sql("pg_merge/sessions"), now, force, run_id):
        outcome = classify(incoming[id], stored, force)
        if was_written:  # what the database did (a row inserted since our snapshot was updated)
            outcome = Outcome.INSERTED if inserted else Outcome.UPDATED
            written.add(id)
        elif outcome in (Outcome.INSERTED, Outcome.UPDATED):
            lost.append(id)
        outcomes[id] = outcome
    if lost:  # a concurrent writer got there first: classify against what it stored
        rows = await apg.fetch(_sql("pg_merge/versions"), lost)
        again = {row["id"]: row["last_updated"] for row in rows}
        for id in lost:
            outcomes[id] = classify(incoming[id], again.get(id), False)
    return outcomes, written


async def _replace_children(
    apg: asyncpg.Connection, written: Sequence[SessionBundle], now: datetime, run_id: str | None
) -> None:
    if not written:
        return
    await apg.execute(_sql("pg_merge/replace_children"), [b.id for b in written])
    if any(b.periods for b in written):
        # In text format (see copy_text); a buffer, as asyncpg would take bytes for a path.
        run = copy_text.NULL if run_id is None else copy_text.escape(run_id)
        text = memoryview("".join(copy_text.period_lines(b.periods, run) for b in written).encode())
        await apg.copy_to_table("charging_periods", source=text, columns=_PERIOD_COPY_COLUMNS, format="text")
    await apg.copy_records_to_table(
        "raw_sessions",
        records=[(b.raw.id, b.raw.document, b.raw.last_updated, now, run_id) for b in written],
        columns=_RAW_COLUMNS,
    )


async def _merge_places(
    apg: asyncpg.Connection,
    bundles: Sequence[SessionBundle],
    now: datetime,
    force: bool,
    seen: PlacesSeen | None,
    staged: list[tuple[str, list[Any]]] | None,
    run_id: str | None,
) -> None:
    locations, evses, connectors = place_rows(bundles)
    # In this order, as the generic path: concurrent writers take the locks in the same order.
    for name, candidates, names in (
        ("locations", locations, _LOCATION_COLUMNS),
        ("evses", evses, _EVSE_COLUMNS),
        ("connectors", connectors, _CONNECTOR_COLUMNS),
    ):
        rows = candidates if seen is None else seen.unseen(name, candidates)
        if rows:
            await apg.copy_records_to_table(f"syncer_stage_{name}", records=rows, columns=names)
            await apg.execute(_sql(f"pg_merge/{name}"), now, force, run_id)
            if staged is not None:
                staged.append((name, rows))


def _sql(name: str) -> str:
    return sql_text(name)
