"""The writer's batching: items into batches by size and by age."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from typing import TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

T = TypeVar("T")


async def batches(
    items: MemoryObjectReceiveStream[T],
    size: int,
    max_wait: float,
    weigh: Callable[[T], int] | None = None,
    max_weight: int = 0,
) -> AsyncGenerator[list[T], None]:
    """Batches of `items`: one is yielded when it holds `size` items, or weighs `max_weight`
    (by `weigh`, when given: big documents are committed without waiting for more), or when its
    first item has waited `max_wait` seconds. While nothing comes for `max_wait`, an empty list
    is yielded (a tick: the writer's moment for other work). The last batch comes when the
    stream ends.

    An item ready now is taken without a timer (a timer per item costs more than the item)."""
    batch: list[T] = []
    first_at = 0.0
    weight = 0
    while True:
        try:
            item: T | None = items.receive_nowait()
        except (anyio.WouldBlock, anyio.EndOfStream):
            item = None  # the end, too, is taken below: after a checkpoint, as anyio does
        if item is None:
            wait = max(0.0, first_at + max_wait - time.monotonic()) if batch else max_wait
            with anyio.move_on_after(wait):
                try:
                    item = await items.receive()
                except anyio.EndOfStream:
                    break
        if item is not None:
            if not batch:
                first_at = time.monotonic()
            batch.append(item)
            if weigh is not None:
                weight += weigh(item)
        heavy = weigh is not None and weight >= max_weight
        if batch and (item is None or len(batch) >= size or heavy or time.monotonic() >= first_at + max_wait):
            yield batch
            batch, weight = [], 0
        elif item is None:
            yield []
    if batch:
        yield batch
