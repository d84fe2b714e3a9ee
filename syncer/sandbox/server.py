"""Serving the sandbox over real HTTP with uvicorn: in the current event loop, in a thread, or blocking.

The listening socket is bound here, before uvicorn starts, so a busy port raises ``OSError`` in
the caller (uvicorn itself would call ``sys.exit``) and ``port=0`` picks a free port whose
number is known at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator

import uvicorn

from syncer.event_loop import loop_factory
from syncer.sandbox.app import build_app
from syncer.sandbox.config import SandboxConfig
from syncer.sandbox.responses import quiet_deliberate_cuts

__all__ = ["running_sandbox", "running_sandbox_in_thread", "serve"]

_STOP_TIMEOUT_S = 10.0


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host program."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only then,
    # and without it every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


@contextlib.asynccontextmanager
async def _started(config: SandboxConfig, host: str, port: int) -> AsyncIterator[tuple[str, _EmbeddedServer]]:
    """Start a server in this loop; yield its base URL and the server; stop it on exit."""
    sock = _bind(host, port)
    quiet_deliberate_cuts()
    server = _EmbeddedServer(
        uvicorn.Config(
            build_app(config),
            log_level="warning",
            log_config=None,  # keep the host program's logging set-up
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]), name="sandbox-server")
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what failed start-up
                raise RuntimeError("sandbox server stopped during start-up")
            await asyncio.sleep(0.005)
        port = sock.getsockname()[1]
        yield f"http://{f'[{host}]' if ':' in host else host}:{port}{config.prefix}", server
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), _STOP_TIMEOUT_S)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            sock.close()


@contextlib.asynccontextmanager
async def running_sandbox(
    config: SandboxConfig, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve the sandbox from the current event loop while the block runs.

    Yields the base URL including the prefix, e.g. ``http://127.0.0.1:54321/api/v1``;
    ``port=0`` picks a free port. The server is shut down cleanly on exit. Signal handling is
    left to the host program.
    """
    async with _started(config, host, port) as (url, _server):
        yield url


@contextlib.contextmanager
def running_sandbox_in_thread(config: SandboxConfig, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Like :func:`running_sandbox`, from a background thread with its own event loop."""
    ready: list[tuple[str, asyncio.AbstractEventLoop, asyncio.Event]] = []
    failure: list[BaseException] = []
    started = threading.Event()

    async def main() -> None:
        stop = asyncio.Event()
        try:
            async with _started(config, host, port) as (url, _server):
                ready.append((url, asyncio.get_running_loop(), stop))
                started.set()
                await stop.wait()
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)
        finally:
            started.set()

    thread = threading.Thread(target=asyncio.run, args=(main(),), name="sandbox-server", daemon=True)
    thread.start()
    started.wait()
    if not ready:
        thread.join()
        raise failure[0] if failure else RuntimeError("sandbox server did not start")
    url, loop, stop = ready[0]
    try:
        yield url
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(_STOP_TIMEOUT_S + 5)
    if failure:
        raise failure[0]


def serve(
    config: SandboxConfig,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the sandbox until SIGINT or SIGTERM, then stop cleanly and return (blocking).

    For ``syncer simulate``. Prints nothing; ``on_ready`` receives the base URL once the port
    is listening. A second signal during shutdown drops the connections still open.
    """

    async def main() -> None:
        stop = asyncio.Event()
        async with _started(config, host, port) as (url, server):
            loop = asyncio.get_running_loop()

            def on_signal() -> None:
                if stop.is_set():
                    server.force_exit = True
                stop.set()

            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(sig, on_signal)
            if on_ready is not None:
                on_ready(url)
            await stop.wait()

    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(main())
