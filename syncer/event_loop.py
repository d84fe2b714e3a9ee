"""The event loop the CLI runs on: uvloop where it is installed (Linux and macOS), else asyncio's.

uvloop's event loop and transports take less CPU per request than asyncio's own (measured in
`bench/`, see docs/benchmark.md); behaviour is the same, so nothing else needs to know which
loop it runs on. `SYNCER_EVENT_LOOP=asyncio` forces the standard loop (`auto`, the default,
and `uvloop` take uvloop when it is installed).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from syncer.errors import ConfigError

__all__ = ["loop_factory", "use_uvloop"]

_CHOICES = ("auto", "uvloop", "asyncio")


def use_uvloop() -> bool:
    """Whether to run on uvloop: installed, and not turned off with SYNCER_EVENT_LOOP=asyncio."""
    choice = os.environ.get("SYNCER_EVENT_LOOP", "").strip().lower() or "auto"
    if choice not in _CHOICES:
        raise ConfigError(f"SYNCER_EVENT_LOOP must be one of {', '.join(_CHOICES)}, not {choice[:20]!r}")
    if choice == "asyncio":
        return False
    try:
        import uvloop  # noqa: F401
    except ImportError:
        if choice == "uvloop":
            raise ConfigError("SYNCER_EVENT_LOOP=uvloop, but uvloop is not installed") from None
        return False
    return True


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """For `asyncio.Runner(loop_factory=…)`: uvloop's, or None for asyncio's default."""
    if not use_uvloop():
        return None
    import uvloop

    return uvloop.new_event_loop
