"""`syncer enqueue` and `syncer queue status|retry|prune`: operating the sync_queue table."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Annotated

import typer

from syncer.clock import now
from syncer.errors import ConfigError
from syncer.logs import get_logger
from syncer.queue_store import EnqueueCounts, Queue
from syncer.settings import Settings, load_settings
from syncer.sources import file_ids
from syncer.worker import open_store

queue_app = typer.Typer(help="Inspect and repair the sync_queue table.", no_args_is_help=True)
DatabaseUrl = Annotated[str | None, typer.Option(help="sqlite:///PATH or postgresql://…")]
_ENQUEUE_BATCH = 1_000
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """`90`, `90s`, `15m`, `12h`, `7d`, `2w`."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"--older-than: {text!r} is not a duration like 7d, 12h, 30m or 90s")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


async def enqueue(settings: Settings, spec: str) -> int:
    log = get_logger("syncer.queue")
    total = EnqueueCounts(0, 0, 0)
    invalid = 0
    async with await open_store(settings) as store:
        queue = Queue(store)
        batch: list[str] = []

        async def flush() -> None:
            nonlocal total
            total += await queue.enqueue(batch, now())
            batch.clear()

        async for item in file_ids(spec):
            if not item.valid:
                invalid += 1
                log.warning("enqueue.invalid_id", line=item.line, id=item.id[:80])
                continue
            batch.append(item.id)
            if len(batch) >= _ENQUEUE_BATCH:
                await flush()
        if batch:
            await flush()
    log.info(
        "enqueue.finished",
        added=total.added,
        requeued=total.requeued,
        already_queued=total.already_queued,
        invalid=invalid,
    )
    return 1 if invalid else 0


@queue_app.command("status")
def status(
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout")] = False,
) -> None:
    """Counts by status, expired leases and the age of the oldest due id."""
    from syncer.cli import run_async

    settings = load_settings(database_url=database_url)

    async def main() -> int:
        async with await open_store(settings) as store:
            counts = await Queue(store).status(now())
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
    """Put failed ids back to pending, with a fresh attempt count."""
    from syncer.cli import run_async

    settings = load_settings(database_url=database_url)

    async def main() -> int:
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
    """Delete done rows older than --older-than (the data tables are untouched)."""
    from syncer.cli import run_async

    age = parse_duration(older_than)
    settings = load_settings(database_url=database_url)

    async def main() -> int:
        async with await open_store(settings) as store:
            count = await Queue(store).prune(now() - age)
        typer.echo(f"deleted {count} done ids")
        return 0

    run_async(main)
