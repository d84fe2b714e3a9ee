"""`syncer migrate`, `run`, `enqueue` and `reprocess`: the commands that move data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from syncer.cli.app import app
from syncer.cli.common import run_async, settings_from
from syncer.cli.options import (
    BatchSize,
    Concurrency,
    DatabaseUrl,
    DbRetrySeconds,
    DbSchema,
    DbTimeout,
    FailedOut,
    FutureTolerance,
    GatewayUrl,
    GlobalRate,
    LeaseSeconds,
    Limit,
    LogFormat,
    MaxAttempts,
    MaxInflightMb,
    MaxRetryAfter,
    MaxRuntime,
    MetricsPort,
    Processes,
    Progress,
    ProgressInterval,
    PushgatewayUrl,
    QueueBackoffSeconds,
    Rate,
    Shard,
    ShutdownGrace,
    Timeout,
    Token,
    UntilEmpty,
)
from syncer.errors import ConfigError


@app.command()
def migrate(
    database_url: DatabaseUrl = None, log_format: LogFormat = None, db_schema: DbSchema = None
) -> None:
    """Create or upgrade the schema (idempotent; safe when two run at once).

    Example: syncer migrate --database-url postgresql://syncer@db/warehouse
    """
    settings = settings_from(database_url=database_url, log_format=log_format, db_schema=db_schema)

    async def main() -> int:
        from syncer.observe.logs import get_logger
        from syncer.warehouse.migrate import migrate as do_migrate
        from syncer.warehouse.store import Store

        async with Store.open(settings.database_url, settings.db_schema) as store:
            before, after = await do_migrate(store)
        get_logger().info("migrate.done", version_before=before, version=after)
        return 0

    run_async(main)


@app.command()
def run(
    ids: Annotated[str | None, typer.Option(help="File of ids, one per line, or - for stdin")] = None,
    queue: Annotated[bool, typer.Option("--queue", help="Drain the sync_queue table")] = False,
    gateway_url: GatewayUrl = None,
    token: Token = None,
    database_url: DatabaseUrl = None,
    concurrency: Concurrency = None,
    rate: Rate = None,
    max_attempts: MaxAttempts = None,
    timeout: Timeout = None,
    batch_size: BatchSize = None,
    limit: Limit = None,
    max_runtime: MaxRuntime = None,
    failed_out: FailedOut = None,
    log_format: LogFormat = None,
    progress: Progress = None,
    shutdown_grace: ShutdownGrace = None,
    lease_seconds: LeaseSeconds = None,
    processes: Processes = None,
    shard: Shard = None,
    progress_interval: ProgressInterval = None,
    pushgateway_url: PushgatewayUrl = None,
    metrics_port: MetricsPort = None,
    global_rate: GlobalRate = None,
    max_retry_after: MaxRetryAfter = None,
    until_empty: UntilEmpty = None,
    db_schema: DbSchema = None,
    db_retry_seconds: DbRetrySeconds = None,
    queue_backoff_seconds: QueueBackoffSeconds = None,
    db_timeout: DbTimeout = None,
    max_inflight_mb: MaxInflightMb = None,
    future_tolerance: FutureTolerance = None,
) -> None:
    """Sync the sessions named in a file (--ids) or queued in sync_queue (--queue).

    Example: syncer run --queue --gateway-url https://host/api/v1 --database-url postgresql://syncer@db/wh
    """
    options = {name: value for name, value in locals().items() if name not in ("ids", "queue")}
    if (ids is None) == (not queue):
        raise ConfigError("give exactly one of --ids FILE|- or --queue")
    settings = settings_from(**options)
    settings.require_gateway()
    if ids not in (None, "-") and not Path(str(ids)).is_file():  # before the database or the gateway
        raise ConfigError(f"--ids: no such file: {ids}")
    if settings.until_empty and ids is not None:
        raise ConfigError("--until-empty: only with --queue (a file run ends with its file)")
    if settings.shard and ids is None:
        raise ConfigError("--shard: only with --ids FILE (queue workers share the queue without it)")
    if settings.processes > 1:
        if ids == "-":
            raise ConfigError(
                "--processes: needs --ids FILE or --queue (stdin cannot be split between processes)"
            )
        from syncer.cli.app import main
        from syncer.pipeline.processes import run_processes

        raise typer.Exit(run_processes(settings, ids, entry=main))  # children run `main` again

    async def one_process() -> int:
        from syncer.pipeline.start import run_file, run_queue, tune_gc

        tune_gc()
        return await run_queue(settings) if ids is None else await run_file(settings, ids)

    run_async(one_process)


@app.command()
def enqueue(
    ids: Annotated[str, typer.Argument(help="File of ids, one per line, or - for stdin")],
    database_url: DatabaseUrl = None,
    log_format: LogFormat = None,
    progress_interval: ProgressInterval = None,
) -> None:
    """Add ids to sync_queue (pending ids are not duplicated; done and failed ids are re-queued).

    Example: syncer enqueue ids.txt --database-url postgresql://syncer@db/warehouse
    """
    settings = settings_from(
        database_url=database_url, log_format=log_format, progress_interval=progress_interval
    )

    async def main() -> int:
        from syncer.pipeline.enqueue import enqueue as do_enqueue

        return await do_enqueue(settings, ids)

    run_async(main)


@app.command()
def reprocess(
    database_url: DatabaseUrl = None, log_format: LogFormat = None, progress_interval: ProgressInterval = None
) -> None:
    """Rebuild the flat tables from raw_sessions, with no network (after a flattening fix).

    Example: syncer reprocess --database-url postgresql://syncer@db/warehouse
    """
    settings = settings_from(
        database_url=database_url, log_format=log_format, progress_interval=progress_interval
    )

    async def main() -> int:
        from syncer.pipeline.reprocess import reprocess as do_reprocess
        from syncer.pipeline.start import open_store

        async with await open_store(settings) as store:
            return await do_reprocess(store, progress_interval=settings.progress_interval)

    run_async(main)
