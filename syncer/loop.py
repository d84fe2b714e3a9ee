"""The event loop the CLI runs on: uvloop where it is installed (Linux and macOS), else asyncio's.

uvloop's C event loop and transports take about a fifth less CPU per request than asyncio's
own (measured in `bench/`, see docs/benchmark.md); behaviour is the same, so nothing else
needs to know which loop it runs on. `SYNCER_EVENT_LOOP=asyncio` forces the standard loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

__all__ = ["loop_factory", "use_uvloop"]


def use_uvloop() -> bool:
    """Whether uvloop is installed and not turned off with SYNCER_EVENT_LOOP=asyncio."""
    if os.environ.get("SYNCER_EVENT_LOOP", "").strip().lower() == "asyncio":
        return False
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """For `asyncio.Runner(loop_factory=…)`: uvloop's, or None for asyncio's default."""
    if not use_uvloop():
        return None
    import uvloop

    return uvloop.new_event_loop
