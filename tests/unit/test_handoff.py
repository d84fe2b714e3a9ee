"""handoff: the same items in the same order as anyio's own send/receive, waiting when it must."""

from __future__ import annotations

import anyio
import pytest

from syncer.pipeline import handoff


async def test_items_pass_in_order_through_a_full_stream_and_end() -> None:
    send, receive = anyio.create_memory_object_stream[int](2)
    got: list[int] = []

    async def consume() -> None:
        async with receive:
            while True:
                try:
                    got.append(await handoff.receive(receive))
                except anyio.EndOfStream:
                    return

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        async with send:
            for i in range(10):  # more than the buffer: the sender must wait for room
                await handoff.send(send, i)
    assert got == list(range(10))


async def test_a_receiver_waits_for_an_item() -> None:
    send, receive = anyio.create_memory_object_stream[str](1)
    with anyio.move_on_after(0.05) as scope:
        await handoff.receive(receive)
    assert scope.cancelled_caught
    await handoff.send(send, "x")
    assert await handoff.receive(receive) == "x"
    send.close()
    with pytest.raises(anyio.EndOfStream):
        await handoff.receive(receive)
    receive.close()
