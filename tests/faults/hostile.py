"""A small hostile gateway of the tests' own, over real sockets: each test says what every
`GET .../sessions/{id}` gets (a plain-text 404, a token echoed back, a document from the future,
huge documents), and the server records what it was asked."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from syncer.sandbox.generate import session_body

Answer = tuple[int, str, bytes]
"""HTTP status, content type, body."""


@dataclass
class Seen:
    ids: list[str] = field(default_factory=list)
    authorizations: set[str] = field(default_factory=set)


def document(id: str, **changes: Any) -> dict[str, Any]:
    """The sandbox's envelope for `id`, with `data` fields changed."""
    envelope: dict[str, Any] = json.loads(session_body(id, 0, 5, 50))
    envelope["data"].update(changes)
    return envelope


def json_answer(envelope: dict[str, Any], status: int = 200) -> Answer:
    return status, "application/json", json.dumps(envelope).encode()


@contextmanager
def hostile_gateway(
    answer: Callable[[str, Seen], Answer], prefix: str = "/api/v1"
) -> Iterator[tuple[str, Seen]]:
    """The base URL of a server answering `answer(id, seen)` to every session GET under
    `prefix` (anything else: a plain-text 404), from a thread with its own event loop."""
    seen = Seen()

    async def session(request: web.Request) -> web.Response:
        id = request.match_info["id"]
        seen.ids.append(id)
        seen.authorizations.add(request.headers.get("Authorization", ""))
        status, content_type, body = answer(id, seen)
        return web.Response(status=status, body=body, content_type=content_type)

    ready: list[tuple[str, asyncio.AbstractEventLoop, asyncio.Event]] = []
    started = threading.Event()

    async def main() -> None:
        app = web.Application()
        app.router.add_get(prefix + "/sessions/{id}", session)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        stop = asyncio.Event()
        ready.append((f"http://127.0.0.1:{port}{prefix}", asyncio.get_running_loop(), stop))
        started.set()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    thread = threading.Thread(target=asyncio.run, args=(main(),), name="hostile-gateway", daemon=True)
    thread.start()
    assert started.wait(30), "the hostile gateway did not start"
    url, loop, stop = ready[0]
    try:
        yield url, seen
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
