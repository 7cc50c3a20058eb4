"""The embedded broker carries messages, keeps retained ones, and frees its port on exit."""

from __future__ import annotations

import asyncio
import socket

import aiomqtt

from cloud.embedded_broker import embedded_broker
from tests.support.ports import free_port


async def test_embedded_broker_round_trip_and_retained() -> None:
    port = free_port()
    async with embedded_broker("127.0.0.1", port) as url:
        assert url == f"mqtt://127.0.0.1:{port}"
        async with aiomqtt.Client("127.0.0.1", port) as pub:
            await pub.publish("apf/o/agents/a/status", b"online", qos=1, retain=True)
        async with aiomqtt.Client("127.0.0.1", port) as sub:
            await sub.subscribe("apf/+/agents/+/status", qos=1)
            message = await asyncio.wait_for(anext(aiter(sub.messages)), 5)
            assert message.payload == b"online"
            assert message.retain
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # the port is free again
