"""`syncer runs` and `syncer failures`: what the runs did and what to do about what failed,
read from `sync_runs` and `sync_failures` (no SQL by hand at 3 a.m.)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from syncer.cli.app import app
from syncer.cli.common import run_async, settings_from
from syncer.cli.options import DatabaseUrl

AsJson = Annotated[bool, typer.Option("--json", help="JSON on stdout instead of a table")]

_TRANSIENT = (
    "transient on the gateway's side: re-queue them (syncer queue retry --kind {kind}) or re-run"
    " the ids saved by --failed-out (syncer run --ids FILE)"
)
_ADVICE = {
    "not_found": "nothing to fix here: the gateway has no such session; check where the ids came from",
    "invalid_id": "fix or remove the id in its source file: it was never requested",
    "write_error": "the database refused this document: read the message, fix, then re-run the id",
    "body_too_large": "the gateway sent an oversized body: report the id to the gateway's operator",
    "http_401": "check the token (--token / SYNCER_TOKEN)",
    "http_403": "check the token (--token / SYNCER_TOKEN) and its permissions",
    "rate_limited_2004": _TRANSIENT + "; lower --rate or --global-rate",
    "http_429": _TRANSIENT + "; lower --rate or --global-rate",
}
_TRANSIENT_KINDS = frozenset(
    {"timeout", "connection", "truncated", "attempts_exhausted", "http_408", "http_425"}
)


def next_step(kind: str) -> str:
    """What to do about failures of `kind`."""
    if kind in _ADVICE:
        return _ADVICE[kind]
    if kind in _TRANSIENT_KINDS or (kind.startswith("http_5") and len(kind) == 8):
        return _TRANSIENT.format(kind=kind)
    if kind.startswith("http_4"):
        return "the gateway refused the request: check --gateway-url (the base path, e.g. /api/v1)"
    return (
        "the gateway sent a document the parser refused: report the id (syncer keeps none of it);"
        " re-run it once the gateway or the parser is fixed"
    )


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


@app.command()
def runs(
    database_url: DatabaseUrl = None,
    limit: Annotated[int, typer.Option(min=1, help="How many runs, newest first")] = 20,
    as_json: AsJson = False,
) -> None:
    """Recent runs as a table: status, counts, duration and rate (newest first).

    Example: syncer runs --limit 10 --database-url postgresql://syncer@db/warehouse
    """
    settings = settings_from(database_url=database_url)

    async def main() -> int:
        from syncer.pipeline.start import open_store
        from syncer.warehouse.runs import recent_runs

        async with await open_store(settings) as store:
            rows = await recent_runs(store, limit)
        if as_json:
            typer.echo(json.dumps(rows, default=_json_default))
            return 0
        header: tuple[str, ...] = (
            "RUN",
            "STARTED (UTC)",
            "SOURCE",
            "STATUS",
            "EXIT",
            "REQUESTED",
            "SYNCED",
            "NOT FOUND",
        )
        header += ("FAILED", "RETRIES", "DURATION", "PER S")
        widths = (12, 19, 6, 20, 4, 9, 9, 9, 7, 7, 8, 7)
        lines: list[tuple[str, ...]] = [header]
        for r in rows:
            synced = sum(r[k] or 0 for k in ("inserted", "updated", "unchanged", "stale"))
            lines.append(
                (
                    r["run_id"][:12],
                    _when(r["started_at"]),
                    r["source"] or "-",
                    r["status"] or "-",
                    "-" if r["exit_code"] is None else str(r["exit_code"]),
                    str(r["requested"]),
                    str(synced),
                    str(r["not_found"]),
                    str(r["failed"]),
                    str(r["retries"]),
                    _duration(r["duration_s"]),
                    "-" if r["sessions_per_s"] is None else f"{r['sessions_per_s']:.1f}",
                )
            )
        for line in lines:
            cells = [
                c.ljust(w) if i < 4 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))
            ]
            typer.echo("  ".join(cells).rstrip())
        if not rows:
            typer.echo("(no runs recorded yet)")
        return 0

    run_async(main)


@app.command()
def failures(
    database_url: DatabaseUrl = None,
    run: Annotated[
        str | None, typer.Option("--run", help="Only this run (its id, as `syncer runs` shows)")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind, e.g. http_503")] = None,
    as_json: AsJson = False,
) -> None:
    """Recorded failures grouped by kind, with an example and what to do next.

    Example: syncer failures --run 3f2a9c1d0b7e --kind http_503
    """
    settings = settings_from(database_url=database_url)

    async def main() -> int:
        from syncer.pipeline.start import open_store
        from syncer.warehouse.runs import failures_by_kind, recent_runs

        async with await open_store(settings) as store:
            run_id = run
            if run is not None and len(run) < 32:  # the short id `syncer runs` prints
                matches = [r["run_id"] for r in await recent_runs(store, 1000) if r["run_id"].startswith(run)]
                run_id = matches[0] if len(matches) == 1 else run
            groups = await failures_by_kind(store, run_id=run_id, kind=kind)
        for group in groups:
            group["next_step"] = next_step(group["kind"])
        if as_json:
            typer.echo(json.dumps(groups, default=_json_default))
            return 0
        if not groups:
            typer.echo(
                "no failures recorded"
                + (f" for run {run}" if run else "")
                + (f" of kind {kind}" if kind else "")
            )
        for g in groups:
            typer.echo(
                f"{g['kind']}: {g['failures']} failures ({g['ids']} ids, {g['runs']} runs),"
                f" last {_when(g['last_at'])} UTC"
            )
            typer.echo(f"  example: {g['example_id']}: {g['message']}")
            typer.echo(f"  next:    {g['next_step']}")
        return 0

    run_async(main)
