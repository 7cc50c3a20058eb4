"""The live feed against a real broker: its own subscription, held whether a browser watches
or not (it records the temperature history), never stopped by input, and a resync whenever
its connection is (re)made."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiomqtt

from cloud.bridge.mqtt import LinkSettings
from cloud.live.feed import LiveFeed
from cloud.live.history import TemperatureHistory
from cloud.live.hub import Delivery, LiveHub, LiveKind, Subscription
from shared import wire
from shared.enums import PrinterStatus
from tests.cloud.bridge.test_bridge import eventually
from tests.support.broker import TestBroker

ORG, OTHER, AGENT = "org_live", "org_other", "agt_1"


@contextlib.asynccontextmanager
async def running_feed(
    broker: TestBroker, hub: LiveHub, history: TemperatureHistory | None = None
) -> AsyncIterator[LiveFeed]:
    settings = LinkSettings(url=broker.url, client_id="live-under-test", clean_session=True)
    feed = LiveFeed(hub, history if history is not None else TemperatureHistory(), settings)
    task = asyncio.create_task(feed.run(), name="live-feed")
    try:
        yield feed
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def agent(broker: TestBroker) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(**broker.client_kwargs(), identifier="live-agent") as client:
        yield client


async def publish_state(client: aiomqtt.Client, org_id: str, printer_id: str) -> None:
    state = wire.PrinterState(
        printer_id=printer_id,
        status=PrinterStatus.IDLE,
        connected=True,
        ts=datetime.now(UTC),
        temperatures=wire.Temperatures(hotend=22.5, bed=21.0),
    )
    topic = wire.printer_state_topic(org_id, AGENT, printer_id)
    await client.publish(topic, wire.encode(state), qos=1)


async def next_delivery(subscription: Subscription, timeout_s: float = 10) -> Delivery:
    return await asyncio.wait_for(subscription.get(), timeout_s)


async def test_the_feed_records_without_a_browser_and_survives_bad_payloads(
    mqtt_broker: TestBroker,
) -> None:
    hub, history = LiveHub(), TemperatureHistory()
    async with running_feed(mqtt_broker, hub, history) as feed, agent(mqtt_broker) as client:
        # Connected with nobody watching: the temperature history needs every message.
        await feed.link.wait_connected(15)
        bad_topic = wire.printer_state_topic(ORG, AGENT, "prt_bad")
        await client.publish(bad_topic, b"{not json", qos=1)
        await client.publish(wire.printer_state_topic(ORG, AGENT, "prt_1"), b"", qos=1)
        await publish_state(client, OTHER, "prt_theirs")  # another organization's
        await publish_state(client, ORG, "prt_1")

        async def recorded() -> bool:
            return bool(history.samples(ORG, "prt_1", 0))

        await eventually(recorded, timeout_s=10)
        assert history.samples(OTHER, "prt_theirs", 0)[0][1:3] == (22.5, None)
        assert history.samples(ORG, "prt_bad", 0) == []

        with hub.subscribe(ORG) as watching:
            await publish_state(client, OTHER, "prt_theirs")
            await publish_state(client, ORG, "prt_2")
            got = await next_delivery(watching)
            body = json.loads(got.item.json)
            assert (got.item.kind, body["printer_id"]) == (LiveKind.STATE, "prt_2")
        # The last browser gone, the connection stays.
        assert feed.link.connected


async def test_a_broker_restart_reconnects_and_resyncs(mqtt_broker: TestBroker) -> None:
    hub = LiveHub()
    async with running_feed(mqtt_broker, hub) as feed:
        await feed.link.wait_connected(15)
        with hub.subscribe(ORG) as watching:
            mqtt_broker.restart()
            again = await next_delivery(watching, timeout_s=30)
            assert json.loads(again.item.json) == {"kind": "resync", "reason": "reconnected"}
            assert feed.link.connected
            async with agent(mqtt_broker) as client:
                await publish_state(client, ORG, "prt_2")
                got = await next_delivery(watching)
            assert json.loads(got.item.json)["printer_id"] == "prt_2"
