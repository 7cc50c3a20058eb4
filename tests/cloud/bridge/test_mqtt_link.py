"""The cloud's MQTT link against a real broker: delivery, re-sync on reconnect, bad handlers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiomqtt
import pytest

from cloud.bridge.mqtt import LinkSettings, MqttLink, NotConnectedError
from tests.support.broker import TestBroker


@contextlib.asynccontextmanager
async def running(link: MqttLink) -> AsyncIterator[MqttLink]:
    task = asyncio.create_task(link.run(), name="mqtt-link")
    try:
        await link.wait_connected(10)
        yield link
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def publish(broker: TestBroker, topic: str, payload: bytes) -> None:
    async with aiomqtt.Client(**broker.client_kwargs()) as client:
        await client.publish(topic, payload, qos=1)


async def test_messages_reach_the_handler_in_order_and_a_failing_handler_does_not_stop_it(
    mqtt_broker: TestBroker,
) -> None:
    received: list[bytes] = []
    done = asyncio.Event()

    async def handler(topic: str, payload: bytes) -> None:
        if payload == b"boom":
            raise ValueError("bad input")
        received.append(payload)
        if len(received) == 20:
            done.set()

    link = MqttLink(
        LinkSettings(url=mqtt_broker.url, client_id="cloud-test-1"),
        subscriptions=[("apf/+/agents/+/events", 1)],
        handler=handler,
    )
    async with running(link):
        async with aiomqtt.Client(**mqtt_broker.client_kwargs()) as client:
            await client.publish("apf/o/agents/a/events", b"boom", qos=1)
            for i in range(20):
                await client.publish("apf/o/agents/a/events", str(i).encode(), qos=1)
        await asyncio.wait_for(done.wait(), 10)
    assert received == [str(i).encode() for i in range(20)]


async def test_reconnects_after_a_broker_restart_and_calls_the_resync_hook(
    mqtt_broker: TestBroker,
) -> None:
    if not mqtt_broker.supports_restart:
        pytest.skip("external broker cannot be restarted")
    connects = 0
    reconnected = asyncio.Event()
    got = asyncio.Event()

    async def on_connected() -> None:
        nonlocal connects
        connects += 1
        if connects == 2:
            reconnected.set()

    async def handler(topic: str, payload: bytes) -> None:
        got.set()

    link = MqttLink(
        LinkSettings(url=mqtt_broker.url, client_id="cloud-test-2"),
        subscriptions=[("apf/+/agents/+/status", 1)],
        handler=handler,
        on_connected=on_connected,
    )
    async with running(link):
        await asyncio.to_thread(mqtt_broker.restart)
        await asyncio.wait_for(reconnected.wait(), 40)
        assert link.connected
        await publish(mqtt_broker, "apf/o/agents/a/status", b"x")
        await asyncio.wait_for(got.wait(), 10)


async def test_publish_while_down_raises_not_connected(mqtt_broker: TestBroker) -> None:
    async def handler(topic: str, payload: bytes) -> None:
        return None

    link = MqttLink(
        LinkSettings(url=mqtt_broker.url, client_id="c3"), subscriptions=[], handler=handler
    )
    with pytest.raises(NotConnectedError):
        await link.publish("apf/o/agents/a/config", b"{}")
    async with running(link):
        await link.publish("apf/o/agents/a/config", b"{}", retain=True)
