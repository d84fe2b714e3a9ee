"""`syncer simulate` and `syncer demo`: the sandbox gateway, alone or with a run."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from syncer.cli.app import app
from syncer.cli.common import run_async, settings_from
from syncer.cli.options import DatabaseUrl, LogFormat
from syncer.errors import ConfigError


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
    failure_retry_after: Annotated[
        int | None, typer.Option(help="Retry-After seconds sent with the --failure-rate 503s")
    ] = None,
) -> None:
    """Serve a realistic sandbox gateway (POST /_sandbox/bump?share=0.1 makes newer versions).

    Example: syncer simulate --port 8080 --latency-ms 20 --rate-limit 50
    """
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
            failure_retry_after_s=failure_retry_after,
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
    """Start the sandbox in-process, sync a few hundred sessions, show an analyst query.

    Example: syncer demo --sessions 300
    """
    settings = settings_from(database_url=database_url, log_format=log_format)

    async def main() -> int:
        from syncer.pipeline.demo import run_demo

        return await run_demo(settings, sessions)

    run_async(main)
