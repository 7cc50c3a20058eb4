"""The stream's events, from the generator the endpoint returns, without a server."""

from __future__ import annotations

import asyncio
import json

from litestar.response import ServerSentEventMessage

from cloud.live.hub import LiveHub, LiveItem, LiveKind
from cloud.live.stream import RETRY_MS, sse_messages

HELLO = {"kind": "hello", "org_id": "org_a", "live": True}


async def test_hello_first_then_items_with_ids_then_keepalives() -> None:
    hub = LiveHub()
    stream = sse_messages(hub.subscribe("org_a"), HELLO, keepalive_s=0.05)
    hello = await asyncio.wait_for(anext(stream), 1)
    assert hello.encode() == (
        f"event: hello\r\ndata: {json.dumps(HELLO)}\r\nretry: {RETRY_MS}\r\n\r\n".encode()
    )
    hub.publish("org_a", LiveItem(LiveKind.STATE, '{"kind":"state"}', key="state/prt_1"))
    item = await asyncio.wait_for(anext(stream), 1)
    assert item.encode().endswith(b'event: state\r\ndata: {"kind":"state"}\r\n\r\n')
    assert item.id is not None
    keepalive = await asyncio.wait_for(anext(stream), 1)
    # A comment only: a `data:` line would make the browser dispatch an empty message.
    assert keepalive.encode() == b": keepalive\r\n\r\n"
    await stream.aclose()
    assert len(hub) == 0


async def test_a_stream_cancelled_while_waiting_unsubscribes() -> None:
    hub = LiveHub()
    stream = sse_messages(hub.subscribe("org_a"), HELLO)
    await asyncio.wait_for(anext(stream), 1)

    async def read_on() -> None:
        async for _ in stream:
            pass

    reader = asyncio.create_task(read_on())
    await asyncio.sleep(0)  # let it start waiting for the next item
    reader.cancel()  # what Litestar does when the browser goes
    await asyncio.wait({reader}, timeout=1)
    assert reader.cancelled()
    assert len(hub) == 0


async def test_a_stream_ends_after_its_lifetime_so_the_caller_is_checked_again() -> None:
    hub = LiveHub()
    stream = sse_messages(hub.subscribe("org_a"), HELLO, keepalive_s=10, lifetime_s=0.1)

    async def read_all() -> list[ServerSentEventMessage]:
        return [message async for message in stream]

    received = await asyncio.wait_for(read_all(), 5)  # it ends by itself
    assert [m.event for m in received] == ["hello"]
    assert len(hub) == 0
