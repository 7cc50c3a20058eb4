"""The MQTT link against a real broker: birth/offline with a persisted session counter,
reconnect after the broker restarts, commands in, publish failing fast when down."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.config import MqttSettings, broker_endpoint
from agent.sync.mqtt import LinkDown, MqttLink
from agent.sync.store import Store
from shared.enums import AgentState
from shared.wire import AgentStatus, commands_topic, decode_agent_status, encode, status_topic
from tests.agent.runtime.cloud import CloudStandIn, now
from tests.support.broker import TestBroker

ORG, AGENT = "org_t", "agt_link"


def status(online: bool, session: int) -> bytes:
    state = AgentState.ONLINE if online else AgentState.OFFLINE
    return encode(AgentStatus(state=state, session=session, agent_version="t", ts=now()))


@contextlib.asynccontextmanager
async def running_link(
    broker: TestBroker, db: Path, inbox: asyncio.Queue[tuple[str, bytes]]
) -> AsyncIterator[MqttLink]:
    async with Store(db) as store:

        async def on_message(topic: str, payload: bytes) -> None:
            inbox.put_nowait((topic, payload))

        link = MqttLink(
            broker_endpoint(MqttSettings(url=broker.url)),
            client_id=AGENT,
            status_topic=status_topic(ORG, AGENT),
            subscriptions=[commands_topic(ORG, AGENT)],
            next_session=lambda: store.next_counter("mqtt_session"),
            status_payload=status,
            on_message=on_message,
            on_connected=lambda session: None,
            backoff_min_s=0.1,
            backoff_max_s=0.5,
        )
        task = asyncio.create_task(link.run())
        try:
            yield link
        finally:
            await link.close()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def statuses(cloud: CloudStandIn) -> list[AgentStatus]:
    return [decode_agent_status(m.payload) for m in cloud.on("status") if m.payload]


async def test_birth_reconnect_session_counter_and_offline_on_close(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    if not mqtt_broker.supports_restart:
        pytest.skip("needs a broker the test can restart")
    inbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    async with CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud:
        async with running_link(mqtt_broker, tmp_path / "a.db", inbox) as link:
            await cloud.wait_for(
                lambda: any(s.state == "online" and s.session == 1 for s in statuses(cloud))
            )
            # A command published by the cloud reaches the handler.
            await cloud.publish(commands_topic(ORG, AGENT), b"hello")
            async with asyncio.timeout(10):
                topic, payload = await inbox.get()
            assert (topic, payload) == (commands_topic(ORG, AGENT), b"hello")

            mqtt_broker.stop()
            async with asyncio.timeout(10):
                await link.lost_event.wait()
            with pytest.raises(LinkDown):
                await link.publish("x/y", b"1", 1)
            mqtt_broker.start()
            await cloud.wait_for(
                lambda: any(s.state == "online" and s.session == 2 for s in statuses(cloud))
            )
            async with asyncio.timeout(10):
                await link.connected.wait()
            await link.publish(f"{cloud.root}/probe", b"after-restart", 1)
            await cloud.wait_for(lambda: cloud.on("probe"))
        # Clean shutdown: the agent said offline itself, with its latest session.
        await cloud.wait_for(
            lambda: any(s.state == "offline" and s.session == 2 for s in statuses(cloud))
        )
    # The session counter is persisted: the next run starts at 3.
    async with (
        CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud,
        running_link(mqtt_broker, tmp_path / "a.db", inbox),
    ):
        await cloud.wait_for(
            lambda: any(s.state == "online" and s.session == 3 for s in statuses(cloud))
        )
