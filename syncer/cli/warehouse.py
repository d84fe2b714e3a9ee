"""`syncer dictionary` and `syncer grant`: the warehouse as analysts see it."""

from __future__ import annotations

from typing import Annotated

import typer

from syncer.cli.app import app
from syncer.cli.common import run_async, settings_from
from syncer.cli.options import DatabaseUrl, DbSchema, LogFormat
from syncer.errors import ConfigError

_FORMATS = ("markdown", "dbt", "sql")


@app.command()
def dictionary(
    format: Annotated[
        str,
        typer.Option("--format", help="markdown (docs/warehouse.md), dbt (sources.yml) or sql (comments)"),
    ] = "markdown",
) -> None:
    """Print the data dictionary: every table, view and column (meaning, unit, source, example).

    Example: syncer dictionary --format dbt > models/sources.yml
    """
    if format not in _FORMATS:
        raise ConfigError(f"--format: must be one of {', '.join(_FORMATS)}, not {format!r}")
    from syncer.warehouse.dictionary_render import render

    typer.echo(render(format), nl=False)


@app.command()
def grant(
    kind: Annotated[
        str, typer.Argument(help="analyst (read the data tables and views) or writer (the worker)")
    ],
    role: Annotated[str, typer.Argument(help="an existing PostgreSQL role")],
    database_url: DatabaseUrl = None,
    db_schema: DbSchema = None,
    log_format: LogFormat = None,
) -> None:
    """Grant a PostgreSQL role analyst (read-only) or writer (no DDL) access; idempotent.

    Example: syncer grant analyst bi_readers --database-url postgresql://syncer_migrator@db/warehouse
    """
    if kind not in ("analyst", "writer"):
        raise ConfigError(f"grant: the kind must be analyst or writer, not {kind!r}")
    settings = settings_from(database_url=database_url, db_schema=db_schema, log_format=log_format)

    async def main() -> int:
        from syncer.observe.logs import get_logger
        from syncer.warehouse.grants import grant as do_grant
        from syncer.warehouse.store import Store

        async with Store.open(settings.database_url, settings.db_schema) as store:
            given = await do_grant(store, kind, role)
        get_logger().info("grant.done", kind=kind, role=role, relations=len(given))
        return 0

    run_async(main)
