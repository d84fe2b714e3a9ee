"""`syncer demo`: the sandbox gateway in-process, a few hundred sessions synced into the
embedded database, the run's summary and one analyst query: all in a few seconds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from syncer.pipeline.start import run_ids
from syncer.sandbox import SandboxConfig, running_sandbox
from syncer.settings import Settings
from syncer.sources.base import SourceId
from syncer.warehouse.sql_files import query
from syncer.warehouse.store import Store


async def demo_ids(count: int) -> AsyncIterator[SourceId]:
    for i in range(count):
        yield SourceId(f"demo-{i:05d}")
    yield SourceId("missing-00001")  # the sandbox answers 404: counted as not_found


async def run_demo(settings: Settings, sessions: int) -> int:
    console = Console()
    config = SandboxConfig(latency_ms=5)
    async with running_sandbox(config) as url:
        console.print(f"[bold]syncer demo[/]: sandbox gateway at {url}, database {settings.database_url}")
        local = settings.model_copy(update={"gateway_url": url, "rate": 0.0, "concurrency": 16})
        code = await run_ids(local, demo_ids(sessions))
    async with Store.open(settings.database_url, settings.db_schema) as store, store.engine.connect() as conn:
        run = (await conn.execute(query("queries/latest_run"))).one()
        rows = (await conn.execute(query("queries/energy_per_location"), {"limit": 10})).all()
    counts = (
        "requested",
        "fetched",
        "inserted",
        "updated",
        "unchanged",
        "stale",
        "not_found",
        "failed",
        "retries",
        "duration_s",
        "sessions_per_s",
    )
    summary = Table(title="run summary (sync_runs)")
    summary.add_column("count")
    summary.add_column("value", justify="right")
    for name in counts:
        summary.add_row(name, str(getattr(run, name)))
    console.print(summary)
    table = Table(title="energy and revenue per location (top 10 by kWh)")
    for name in ("location", "city", "currency", "sessions", "kwh", "revenue"):
        table.add_column(name, justify="right" if name in ("sessions", "kwh", "revenue") else "left")
    for row in rows:
        table.add_row(*(_fmt(v) for v in row))
    console.print(table)
    if settings.database_url.startswith("sqlite"):
        path = settings.database_url.removeprefix("sqlite:///")
        example = "SELECT * FROM sessions LIMIT 5"
        console.print(f"Query it yourself with any SQLite client, e.g. sqlite3 {path} '{example}'")
    return code


def _fmt(value: object) -> str:
    if isinstance(value, float | Decimal):
        return f"{Decimal(str(value)).quantize(Decimal('0.001'))}"
    return "" if value is None else str(value)
