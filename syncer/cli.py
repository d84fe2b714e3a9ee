"""Typer commands: parse options, build Settings, call one function, map errors to exit codes.

Exit codes (the contract): 0 all synced/unchanged/stale/not found; 1 some ids failed;
2 bad usage, configuration or database unreachable; 3 gateway refused the credentials;
130/143 interrupted by SIGINT/SIGTERM after a clean drain.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import anyio
import typer
from sqlalchemy import exc as sa_exc
from typer._click.exceptions import UsageError  # Typer vendors Click; its errors live here

from syncer.errors import ConfigError, CredentialsRejected, DatabaseUnavailable, SyncerError
from syncer.settings import Settings, load_settings

app = typer.Typer(
    name="syncer",
    help="Copies EV-charging sessions from the operator's gateway into SQL tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

GatewayUrl = Annotated[
    str | None,
    typer.Option(help="Gateway base URL incl. path, e.g. https://host/api/v1 [env SYNCER_GATEWAY_URL]"),
]
Token = Annotated[
    str | None, typer.Option(help="Bearer token; prefer env SYNCER_TOKEN (never printed)", show_default=False)
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(help="sqlite:///PATH (default ./syncer.db) or postgresql://… [env SYNCER_DATABASE_URL]"),
]
Concurrency = Annotated[
    int | None, typer.Option(help="Requests in flight (default 32) [env SYNCER_CONCURRENCY]")
]
Rate = Annotated[
    float | None,
    typer.Option(help="Requests per second for this process, 0 = unlimited (default 20) [env SYNCER_RATE]"),
]
MaxAttempts = Annotated[
    int | None, typer.Option(help="Attempts per id before it fails (default 5) [env SYNCER_MAX_ATTEMPTS]")
]
Timeout = Annotated[
    float | None, typer.Option(help="Seconds for one whole response (default 30) [env SYNCER_TIMEOUT]")
]
BatchSize = Annotated[
    int | None, typer.Option(help="Sessions per database transaction (default 200) [env SYNCER_BATCH_SIZE]")
]
Limit = Annotated[int | None, typer.Option(help="Stop after this many ids [env SYNCER_LIMIT]")]
MaxRuntime = Annotated[
    float | None, typer.Option(help="Stop taking new ids after this many seconds [env SYNCER_MAX_RUNTIME]")
]
FailedOut = Annotated[
    Path | None,
    typer.Option(help="Write the ids that failed here, replayable with --ids [env SYNCER_FAILED_OUT]"),
]
LogFormat = Annotated[
    str | None,
    typer.Option(help="json or console (default: json unless stderr is a terminal) [env SYNCER_LOG_FORMAT]"),
]
Progress = Annotated[
    bool | None,
    typer.Option("--progress/--no-progress", help="Progress bar (terminal only) [env SYNCER_PROGRESS]"),
]
LeaseSeconds = Annotated[
    float | None,
    typer.Option(
        help="Queue lease; heartbeats extend it while working (default 120) [env SYNCER_LEASE_SECONDS]"
    ),
]
Processes = Annotated[
    int | None,
    typer.Option(
        help="Worker processes (default 1; one per core is the fastest); --concurrency, --rate and"
        " --limit are split between them [env SYNCER_PROCESSES]"
    ),
]
Shard = Annotated[
    str | None,
    typer.Option(
        help="Only the ids in shard K of N (a stable hash of the id), e.g. 0/4: one file split"
        " between pods [env SYNCER_SHARD]"
    ),
]
ShutdownGrace = Annotated[
    float | None,
    typer.Option(
        help="Seconds to finish in-flight work after SIGTERM (default 25) [env SYNCER_SHUTDOWN_GRACE]"
    ),
]


def _settings(**options: Any) -> Settings:
    settings = load_settings(**options)
    from syncer import logs

    logs.configure(log_format=settings.log_format, secrets=[settings.token_value or ""])
    return settings


def run_async(main: Callable[[], Coroutine[Any, Any, int | None]]) -> None:
    from syncer.loop import use_uvloop

    code = anyio.run(main, backend_options={"use_uvloop": use_uvloop()}) or 0
    raise typer.Exit(code)


@app.command()
def migrate(database_url: DatabaseUrl = None, log_format: LogFormat = None) -> None:
    """Create or upgrade the schema (idempotent; safe when two run at once)."""
    settings = _settings(database_url=database_url, log_format=log_format)

    async def main() -> int:
        from syncer.logs import get_logger
        from syncer.migrate import migrate as do_migrate
        from syncer.store import Store

        async with Store.open(settings.database_url) as store:
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
) -> None:
    """Sync the sessions named in a file (--ids) or queued in sync_queue (--queue)."""
    if (ids is None) == (not queue):
        raise ConfigError("give exactly one of --ids FILE|- or --queue")
    settings = _settings(
        gateway_url=gateway_url,
        token=token,
        database_url=database_url,
        concurrency=concurrency,
        rate=rate,
        max_attempts=max_attempts,
        timeout=timeout,
        batch_size=batch_size,
        limit=limit,
        max_runtime=max_runtime,
        failed_out=failed_out,
        log_format=log_format,
        progress=progress,
        shutdown_grace=shutdown_grace,
        lease_seconds=lease_seconds,
        processes=processes,
        shard=shard,
    )
    settings.require_gateway()
    if ids not in (None, "-") and not Path(str(ids)).is_file():  # before the database or the gateway
        raise ConfigError(f"--ids: no such file: {ids}")
    if settings.shard and ids is None:
        raise ConfigError("--shard: only with --ids FILE (queue workers share the queue without it)")
    if settings.processes > 1:
        if ids == "-":
            raise ConfigError(
                "--processes: needs --ids FILE or --queue (stdin cannot be split between processes)"
            )
        from syncer.processes import run_processes

        raise typer.Exit(run_processes(settings, ids, entry=main))  # children run `main` again

    async def one_process() -> int:
        from syncer.worker import run_file, run_queue, tune_gc

        tune_gc()
        return await run_queue(settings) if ids is None else await run_file(settings, ids)

    run_async(one_process)


@app.command()
def enqueue(
    ids: Annotated[str, typer.Argument(help="File of ids, one per line, or - for stdin")],
    database_url: DatabaseUrl = None,
    log_format: LogFormat = None,
) -> None:
    """Add ids to sync_queue (pending ids are not duplicated; done and failed ids are re-queued)."""
    settings = _settings(database_url=database_url, log_format=log_format)

    async def main() -> int:
        from syncer.queue_cli import enqueue as do_enqueue

        return await do_enqueue(settings, ids)

    run_async(main)


def _register_queue() -> None:
    from syncer.queue_cli import queue_app

    app.add_typer(queue_app, name="queue")


_register_queue()


@app.command()
def reprocess(database_url: DatabaseUrl = None, log_format: LogFormat = None) -> None:
    """Rebuild the flat tables from raw_sessions, with no network (after a flattening fix)."""
    settings = _settings(database_url=database_url, log_format=log_format)

    async def main() -> int:
        from syncer.reprocess import reprocess as do_reprocess
        from syncer.worker import open_store

        async with await open_store(settings) as store:
            return await do_reprocess(store)

    run_async(main)


@app.command()
def simulate(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8080,
    prefix: Annotated[str, typer.Option(help="Base path before /sessions/{id}")] = "/api/v1",
    latency_ms: Annotated[float, typer.Option(help="Delay added to every response")] = 0.0,
    rate_limit: Annotated[
        float, typer.Option(help="Requests/s allowed before 429 + Retry-After (0 = off)")
    ] = 0.0,
    failure_rate: Annotated[float, typer.Option(help="Share of requests answered 503")] = 0.0,
    malformed_rate: Annotated[float, typer.Option(help="Share of ids whose body is malformed")] = 0.0,
    token: Annotated[
        str | None, typer.Option(envvar="SYNCER_SIMULATE_TOKEN", help="Require this bearer token")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated data")] = 0,
    rate_limit_burst: Annotated[float, typer.Option(help="Bucket size before 429s (0 = rate/10)")] = 0,
    retry_after: Annotated[int, typer.Option(help="Retry-After seconds sent with a 429")] = 1,
    retry_after_date: Annotated[bool, typer.Option(help="Send Retry-After as an HTTP date")] = False,
) -> None:
    """Serve a realistic sandbox gateway (POST /_sandbox/bump?share=0.1 makes newer versions)."""
    from syncer.sandbox import SandboxConfig, serve

    try:
        config = SandboxConfig(
            prefix=prefix,
            latency_ms=latency_ms,
            rate_limit=rate_limit,
            failure_rate=failure_rate,
            malformed_rate=malformed_rate,
            token=token,
            seed=seed,
            rate_limit_burst=rate_limit_burst,
            retry_after_s=retry_after,
            retry_after_date=retry_after_date,
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    serve(
        config,
        host,
        port,
        on_ready=lambda url: print(f"sandbox gateway on {url}  (Ctrl-C to stop)", file=sys.stderr),
    )


@app.command()
def demo(
    database_url: DatabaseUrl = None,
    sessions: Annotated[int, typer.Option(help="How many sessions to sync")] = 300,
    log_format: LogFormat = None,
) -> None:
    """Start the sandbox in-process, sync a few hundred sessions, show an analyst query."""
    settings = _settings(database_url=database_url, log_format=log_format)

    async def main() -> int:
        from syncer.demo import run_demo

        return await run_demo(settings, sessions)

    run_async(main)


def _fail(code: int, message: str) -> None:
    print(f"syncer: error: {message}", file=sys.stderr)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line on stderr for every expected error, and the contract's exit code."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="syncer", standalone_mode=False)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except UsageError as error:
        where = f" ({error.ctx.command_path})" if error.ctx else ""
        _fail(2, f"{error.format_message()}{where}")
    except typer.Abort:
        _fail(130, "aborted")
    except (ConfigError, DatabaseUnavailable) as error:
        _fail(2, str(error))
    except CredentialsRejected as error:
        _fail(3, str(error))
    except SyncerError as error:
        _fail(1, str(error))
    except sa_exc.SQLAlchemyError as error:
        first = str(error.orig if isinstance(error, sa_exc.DBAPIError) else error).strip().splitlines()
        _fail(2, f"database error: {type(error).__name__}: {first[0] if first else ''}")
    except KeyboardInterrupt:
        _fail(130, "interrupted")
    sys.exit(code if isinstance(code, int) else 0)
