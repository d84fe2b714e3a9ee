"""`syncer queue status|retry|prune`: inspecting and repairing the sync_queue table."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Annotated

import typer

from syncer.cli.common import run_async, settings_from
from syncer.errors import ConfigError

queue_app = typer.Typer(
    help="Inspect and repair the sync_queue table.\n\nExample: syncer queue status --json",
    no_args_is_help=True,
)
DatabaseUrl = Annotated[str | None, typer.Option(help="sqlite:///PATH or postgresql://…")]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """`90`, `90s`, `15m`, `12h`, `7d`, `2w`."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"--older-than: {text!r} is not a duration like 7d, 12h, 30m or 90s")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


@queue_app.command("status")
def status(
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout")] = False,
) -> None:
    """Counts by status, expired leases, the queue's lag and the age of the last successful run;
    marks the runs whose heartbeat is long gone `abandoned` (and counts them).

    Example: syncer queue status --json --database-url postgresql://syncer@db/warehouse
    """
    settings = settings_from(database_url=database_url)

    async def main() -> int:
        from syncer.clock import now
        from syncer.pipeline.start import open_store
        from syncer.warehouse.queue import Queue
        from syncer.warehouse.runs import last_success, mark_abandoned, queue_lag

        async with await open_store(settings) as store:
            at = now()
            abandoned = await mark_abandoned(store.engine, at)
            counts = await Queue(store).status(at)
            counts["runs_marked_abandoned"] = len(abandoned)
            lag = await queue_lag(store, at)
            succeeded = await last_success(store)
        # `oldest_pending_age_s` counts ids deferred by backoff too; the lag is of the due ones.
        counts["oldest_due_age_s"] = lag.oldest_due_age_s
        counts["deferred"] = lag.deferred
        counts["last_success_age_s"] = round((at - succeeded).total_seconds(), 1) if succeeded else None
        if as_json:
            typer.echo(json.dumps(counts))
        else:
            for name, value in counts.items():
                typer.echo(f"{name:<22}{'' if value is None else value}")
        return 0

    run_async(main)


@queue_app.command("retry")
def retry(
    database_url: DatabaseUrl = None,
    kind: Annotated[str | None, typer.Option(help="Only this error kind, e.g. http_503")] = None,
) -> None:
    """Put failed ids back to pending, with a fresh attempt count.

    Example: syncer queue retry --kind http_503
    """
    settings = settings_from(database_url=database_url)

    async def main() -> int:
        from syncer.clock import now
        from syncer.pipeline.start import open_store
        from syncer.warehouse.queue import Queue

        async with await open_store(settings) as store:
            count = await Queue(store).retry_failed(now(), kind)
        typer.echo(f"requeued {count} failed ids")
        return 0

    run_async(main)


@queue_app.command("prune")
def prune(
    older_than: Annotated[str, typer.Option(help="Age like 7d, 12h or 30m")],
    database_url: DatabaseUrl = None,
) -> None:
    """Delete done rows older than --older-than (the data tables are untouched).

    Example: syncer queue prune --older-than 7d
    """
    age = parse_duration(older_than)
    settings = settings_from(database_url=database_url)

    async def main() -> int:
        from syncer.clock import now
        from syncer.pipeline.start import open_store
        from syncer.warehouse.queue import Queue

        async with await open_store(settings) as store:
            count = await Queue(store).prune(now() - age)
        typer.echo(f"deleted {count} done ids")
        return 0

    run_async(main)
