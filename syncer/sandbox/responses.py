"""Answers a plain `Response` cannot give: a body cut short, a body dripped byte by byte, a body
streamed in chunks. Each is an ASGI app, as Starlette responses are.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import AsyncIterator

import anyio
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

__all__ = ["ChunkedResponse", "DripResponse", "TruncatedResponse", "quiet_deliberate_cuts"]

_JSON = "application/json"
_CUT_ON_PURPOSE: contextvars.ContextVar[bool] = contextvars.ContextVar("sandbox_cut", default=False)
_INCOMPLETE = "ASGI callable returned without completing response."


class TruncatedResponse(Response):
    """Declares ``Content-Length: len(body) * 2``, sends ``body``, then closes the connection."""

    def __init__(self, body: bytes) -> None:
        super().__init__(body, media_type=_JSON)
        self.headers["content-length"] = str(len(body) * 2)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": True})
        # Returning now makes the server close the connection mid-body, which is the point.
        _CUT_ON_PURPOSE.set(True)


class DripResponse(Response):
    """Sends ``body`` one byte every ``interval`` seconds; stops as soon as the client leaves."""

    def __init__(self, body: bytes, interval: float) -> None:
        super().__init__(body, media_type=_JSON)
        self.interval = interval

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        for index in range(len(self.body)):
            more = index < len(self.body) - 1
            byte = self.body[index : index + 1]
            await send({"type": "http.response.body", "body": byte, "more_body": more})
            if more and await _client_left_within(receive, self.interval):
                return


async def _client_left_within(receive: Receive, seconds: float) -> bool:
    with anyio.move_on_after(seconds):
        while (await receive())["type"] != "http.disconnect":
            pass  # the (empty) request body of the GET
        return True
    return False


class ChunkedResponse(StreamingResponse):
    """``body`` in 64 KB chunks with no Content-Length (chunked transfer encoding)."""

    def __init__(self, body: bytes) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 64 * 1024):
                yield body[start : start + 64 * 1024]

        super().__init__(chunks(), media_type=_JSON)


class _DropDeliberateCuts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == _INCOMPLETE and _CUT_ON_PURPOSE.get())


_FILTER = _DropDeliberateCuts()


def quiet_deliberate_cuts() -> None:
    """Keep uvicorn from logging an error for each body the sandbox cuts short on purpose
    (only those: the filter looks at a flag set by `TruncatedResponse` in the same task)."""
    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
