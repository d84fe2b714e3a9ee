"""What every command does around its one call: settings, logging, the event loop."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import typer

from syncer.observe import logs
from syncer.settings import Settings, load_settings


def settings_from(**options: Any) -> Settings:
    """Settings from the options given (None = not given), with logging set up to redact the token."""
    settings = load_settings(**options)
    logs.configure(log_format=settings.log_format, secrets=[settings.token_value or ""])
    return settings


def run_async(main: Callable[[], Coroutine[Any, Any, int | None]]) -> None:
    """Run `main` on the event loop and exit with the code it returns."""
    from syncer.event_loop import use_uvloop

    code = anyio.run(main, backend_options={"use_uvloop": use_uvloop()}) or 0
    raise typer.Exit(code)
