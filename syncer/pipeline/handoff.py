"""Hand-offs between the worker's stages without a trip through the event loop when they need none.

anyio's `MemoryObjectSendStream.send` and `MemoryObjectReceiveStream.receive` yield to the event
loop on every call, even when the item can pass at once. Each session crosses three streams (ids
to the fetchers, bundles to the writers), so that was three loop turns a session for nothing.
These take the `*_nowait` path first and wait (with the checkpoint) only when they must; the
streams stay bounded, and a stage still yields whenever it waits for I/O or for room.
"""

from __future__ import annotations

from typing import TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

T = TypeVar("T")


async def send(stream: MemoryObjectSendStream[T], item: T) -> None:
    try:
        stream.send_nowait(item)
    except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
        # Anything but an easy pass goes through anyio's own send, checkpoint first: a task
        # being cancelled is cancelled, as before, rather than told the stream is broken.
        await stream.send(item)


async def receive(stream: MemoryObjectReceiveStream[T]) -> T:
    """The next item; `anyio.EndOfStream` when every sender is closed and nothing is left."""
    try:
        return stream.receive_nowait()
    except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
        return await stream.receive()  # as in `send`: the checkpoint first
