"""The options shared by several commands, each also a `SYNCER_<NAME>` variable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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

ProgressInterval = Annotated[
    float | None,
    typer.Option(
        help="Seconds between run.progress lines off a terminal and sync_runs heartbeats (default 30)"
        " [env SYNCER_PROGRESS_INTERVAL]"
    ),
]
PushgatewayUrl = Annotated[
    str | None,
    typer.Option(help="Push metrics to this Prometheus Pushgateway [env SYNCER_PUSHGATEWAY_URL]"),
]
MetricsPort = Annotated[
    int | None,
    typer.Option(help="Serve Prometheus metrics on this port while running [env SYNCER_METRICS_PORT]"),
]
GlobalRate = Annotated[
    float | None,
    typer.Option(
        help="Requests per second for every worker sharing this database; each takes its share"
        " [env SYNCER_GLOBAL_RATE]"
    ),
]
MaxRetryAfter = Annotated[
    float | None,
    typer.Option(help="Longest Retry-After honoured, in seconds (default 60) [env SYNCER_MAX_RETRY_AFTER]"),
]
UntilEmpty = Annotated[
    bool | None,
    typer.Option(
        "--until-empty/--no-until-empty",
        help="With --queue: wait out deferred ids; exit only when nothing is pending"
        " [env SYNCER_UNTIL_EMPTY]",
    ),
]
DbSchema = Annotated[
    str | None,
    typer.Option(help="PostgreSQL schema holding every table [env SYNCER_DB_SCHEMA]"),
]
DbRetrySeconds = Annotated[
    float | None,
    typer.Option(
        help="Seconds a lost database connection is retried before the run stops (default 60)"
        " [env SYNCER_DB_RETRY_SECONDS]"
    ),
]
QueueBackoffSeconds = Annotated[
    float | None,
    typer.Option(
        help="With --queue: first wait of an id deferred by a transient error, doubling per attempt"
        " (default 30) [env SYNCER_QUEUE_BACKOFF_SECONDS]"
    ),
]
DbTimeout = Annotated[
    float | None,
    typer.Option(
        help="Seconds to wait for one database statement before the connection counts as lost"
        " (default 60) [env SYNCER_DB_TIMEOUT]"
    ),
]
MaxInflightMb = Annotated[
    float | None,
    typer.Option(
        help="Megabytes of documents held between fetching and writing (default 64)"
        " [env SYNCER_MAX_INFLIGHT_MB]"
    ),
]
FutureTolerance = Annotated[
    float | None,
    typer.Option(
        help="Seconds a last_updated may be ahead of this clock before the document is refused"
        " (default 86400) [env SYNCER_FUTURE_TOLERANCE]"
    ),
]
