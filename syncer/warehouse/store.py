"""The only module that runs SQL against the warehouse tables (the queue has `queue_store.py`).

`Store.write(bundles)` applies the contract's upsert rules to one batch in one transaction:
a session, its charging periods and its raw document change together, and only when the
incoming `last_updated` is strictly newer; locations, evses and connectors each change under
their own version guard. The outcome of every id is reported back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from syncer.documents.rows import SessionBundle
from syncer.errors import DatabaseUnavailable
from syncer.outcomes import Failure, Outcome, RunStatus, RunSummary, classify
from syncer.warehouse import pg_merge, schema
from syncer.warehouse.database import DEFAULT_STATEMENT_TIMEOUT_S, create_engine
from syncer.warehouse.faults import cannot_open
from syncer.warehouse.fence import Fence
from syncer.warehouse.places_seen import PlacesSeen
from syncer.warehouse.tables import CONNECTORS, EVSES, FAILURES, LOCATIONS, PERIODS, RAW, RUNS, SESSIONS
from syncer.warehouse.upsert import (
    CONNECTOR_KEY,
    EVSE_KEY,
    LOCATION_KEY,
    newest_by_key,
    params,
    place_rows,
    plain_upsert,
    versioned_upsert,
)

_CHUNK = 5_000  # ids per IN (…) list: far below SQLite's and asyncpg's parameter limits
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Store:
    def __init__(self, engine: AsyncEngine, url: str, schema: str | None = None) -> None:
        self.engine = engine
        self.url = url
        self.schema = schema
        """The PostgreSQL schema of every table (`--db-schema`), None for the default."""
        self.dialect = engine.dialect.name
        self.places_seen = PlacesSeen()
        """Places this store has committed (the fast path skips copies that would change nothing)."""

    @classmethod
    def open(
        cls,
        url: str,
        schema: str | None = None,
        *,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT_S,
    ) -> Store:
        return cls(create_engine(url, schema=schema, statement_timeout=statement_timeout), url, schema)

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int | None:
        """The recorded schema version, or None when `syncer migrate` never ran here."""
        try:
            async with self.engine.connect() as conn:
                if not await conn.run_sync(lambda c: sa.inspect(c).has_table("syncer_schema")):
                    return None
                return await conn.scalar(sa.select(sa.func.max(schema.SchemaVersion.version)))
        except (OSError, sa.exc.DBAPIError, sa.exc.TimeoutError) as error:
            raise DatabaseUnavailable(cannot_open(error, self.url)) from None

    # -- sessions -------------------------------------------------------------------------

    async def write(
        self,
        bundles: Sequence[SessionBundle],
        *,
        now: datetime,
        force: bool = False,
        fence: Fence | None = None,
        run_id: str | None = None,
    ) -> dict[str, Outcome]:
        """Upsert one batch in one transaction; returns the outcome of every id written.
        Every row written records `run_id` as its `last_run_id` (lineage).

        With a `fence` (the queue), only the ids whose lease is still ours are written, and
        their queue rows are marked done in the same transaction; the others are left out of
        the result (another worker owns them now)."""
        merged = newest_by_key(bundles, ("id",), "last_updated")
        for attempt in range(1, 6):
            try:
                staged: list[tuple[str, list[Any]]] = []
                async with self.engine.begin() as conn:
                    mine = merged
                    if fence is not None:
                        owned = await fence.keep(conn, [b.id for b in merged], now)
                        mine = [b for b in merged if b.id in owned]
                    outcomes = await self._write(conn, mine, now, force, staged, run_id)
                    if fence is not None:
                        await fence.complete(conn, sorted(outcomes), now)
                self.places_seen.remember(staged)  # committed: later copies of these change nothing
                return outcomes
            except sa.exc.DBAPIError as error:
                if attempt == 5 or _sqlstate(error) not in _RETRYABLE_SQLSTATES:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _write(
        self,
        conn: AsyncConnection,
        merged: list[SessionBundle],
        now: datetime,
        force: bool,
        staged: list[tuple[str, list[Any]]],
        run_id: str | None,
    ) -> dict[str, Outcome]:
        if not merged:
            return {}
        if pg_merge.supports(conn):
            return await pg_merge.merge(conn, merged, now, force, self.places_seen, staged, run_id)
        stored = await self._versions(conn, [b.id for b in merged])
        outcomes: dict[str, Outcome] = {}
        candidates = []
        for bundle in merged:
            outcome = classify(bundle.last_updated, stored.get(bundle.id), force)
            outcomes[bundle.id] = outcome
            if outcome in (Outcome.INSERTED, Outcome.UPDATED):
                candidates.append(bundle)
        if candidates:
            written = await self._write_sessions(conn, candidates, now, force, run_id)
            lost = [b for b in candidates if b.id not in written]
            if lost:  # a concurrent writer got there first: classify against what it stored
                again = await self._versions(conn, [b.id for b in lost])
                for bundle in lost:
                    outcomes[bundle.id] = classify(bundle.last_updated, again.get(bundle.id), False)
        await self._write_places(conn, merged, now, force, run_id)
        return outcomes

    async def _versions(self, conn: AsyncConnection, ids: Sequence[str]) -> dict[str, datetime]:
        found: dict[str, datetime] = {}
        for part in chunks(ids):
            result = await conn.execute(
                sa.select(SESSIONS.c.id, SESSIONS.c.last_updated).where(SESSIONS.c.id.in_(part))
            )
            found.update({row.id: row.last_updated for row in result})
        return found

    async def _write_sessions(
        self,
        conn: AsyncConnection,
        bundles: list[SessionBundle],
        now: datetime,
        force: bool,
        run_id: str | None,
    ) -> set[str]:
        stmt = versioned_upsert(self.dialect, SESSIONS, ("id",), "last_updated", force=force)
        result = await conn.execute(
            stmt.returning(SESSIONS.c.id),
            params([b.session for b in bundles], synced_at=now, last_run_id=run_id),
        )
        written = set(result.scalars().all())
        if not written:
            return written
        ids = sorted(written)
        for part in chunks(ids):
            await conn.execute(sa.delete(PERIODS).where(PERIODS.c.session_id.in_(part)))
        mine = [b for b in bundles if b.id in written]
        periods = [p for b in mine for p in b.periods]
        # A chunk of parameter dicts at a time: a document of 80,000 periods would otherwise
        # hold 80,000 of them at once beside its rows.
        for part in chunks(periods):
            await conn.execute(sa.insert(PERIODS), params(part, last_run_id=run_id))
        await conn.execute(
            plain_upsert(self.dialect, RAW, ("id",)),
            params([b.raw for b in mine], fetched_at=now, last_run_id=run_id),
        )
        return written

    async def _write_places(
        self,
        conn: AsyncConnection,
        bundles: list[SessionBundle],
        now: datetime,
        force: bool,
        run_id: str | None,
    ) -> None:
        locations, evses, connectors = place_rows(bundles)
        for table, rows, key, version in (
            (LOCATIONS, locations, LOCATION_KEY, "last_modified_date"),
            (EVSES, evses, EVSE_KEY, "last_updated"),
            (CONNECTORS, connectors, CONNECTOR_KEY, "last_updated"),
        ):
            if rows:
                stmt = versioned_upsert(self.dialect, table, key, version, force=force)
                await conn.execute(stmt, params(rows, synced_at=now, last_run_id=run_id))

    async def raw_documents(self, page_size: int = 500) -> AsyncIterator[list[tuple[str, str]]]:
        """Every stored raw document, a page at a time in id order (for `syncer reprocess`)."""
        after = ""
        while True:
            async with self.engine.connect() as conn:
                result = await conn.execute(
                    sa.select(RAW.c.id, RAW.c.document)
                    .where(RAW.c.id > after)
                    .order_by(RAW.c.id)
                    .limit(page_size)
                )
                page = [(row.id, row.document) for row in result]
            if not page:
                return
            yield page
            after = page[-1][0]

    # -- run bookkeeping ------------------------------------------------------------------

    async def record_failures(self, run_id: str, failures: Sequence[Failure], *, at: datetime) -> None:
        if not failures:
            return
        table = FAILURES
        rows = [
            {
                "id": f.id,
                "run_id": run_id,
                "kind": f.kind,
                "http_status": f.http_status,
                "message": f.message,
                "at": at,
            }
            for f in failures
        ]
        async with self.engine.begin() as conn:
            await conn.execute(sa.insert(table), rows)

    async def start_run(self, run_id: str, source: str, started_at: datetime) -> None:
        table = RUNS
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.insert(table).values(
                    run_id=run_id,
                    source=source,
                    started_at=started_at,
                    status=RunStatus.RUNNING,
                    heartbeat_at=started_at,
                )
            )

    async def finish_run(
        self, run_id: str, summary: RunSummary, *, status: str, exit_code: int, finished_at: datetime
    ) -> None:
        table = RUNS
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(table)
                .where(table.c.run_id == run_id)
                .values(status=status, exit_code=exit_code, finished_at=finished_at, **summary.as_dict())
            )


def _sqlstate(error: sa.exc.DBAPIError) -> str | None:
    original = getattr(error, "orig", None)
    return getattr(original, "sqlstate", None) or getattr(
        getattr(original, "__cause__", None), "sqlstate", None
    )
