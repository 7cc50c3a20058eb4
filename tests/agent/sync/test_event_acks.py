"""The real agent against a real broker and a stand-in cloud: events stay in the outbox until
the cloud acknowledges them, go again after a restart, and a retained ack prunes them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiomqtt
import msgspec

from agent.config import MqttSettings
from agent.runtime.agent import Agent
from agent.sync.outbox import RowKind
from cloud.mqttauth.control import CONTROL_TOPIC, RESPONSE_TOPIC
from cloud.mqttauth.plan import LoginState, login_commands
from shared.wire import (
    DesiredConfig,
    Event,
    EventAck,
    PrinterErrorEvent,
    acks_topic,
    config_topic,
    encode,
)
from tests.agent.runtime.cloud import CloudStandIn, now
from tests.agent.runtime.harness import ORG, agent_config, running_agent
from tests.support.broker import TestBroker

AGENT = "agt_acks"


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = 20.0) -> None:
    """Poll a condition of the agent's database with a deadline."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def emit(agent: Agent, message: str) -> Event:
    def build(seq: int, event_id: str) -> Event:
        return PrinterErrorEvent(
            event_id=event_id, seq=seq, ts=now(), printer_id="prt_1", message=message
        )

    return await agent.reporter.event(build, RowKind.EVENT)


async def test_events_stay_until_acked_go_again_after_a_restart_and_a_retained_ack_prunes(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    config = agent_config(mqtt_broker.url, tmp_path / "agent", agent_id=AGENT)
    async with CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud:
        await cloud.desired(DesiredConfig(agent_id=AGENT, revision=1, event_acks=True))
        async with running_agent(config) as agent:
            await until(lambda: _keeps_until_acked(agent))
            for i in range(3):
                await emit(agent, f"e{i}")
            await cloud.wait_for(lambda: len(cloud.events()) >= 3)
            # The broker has them all (PUBACK), yet nobody applied them: all kept.
            assert await agent.outbox.count() == 3
        first = [e.event_id for e in cloud.events()]

        async with running_agent(config) as agent:
            # A restart sends what was never acknowledged again, in order.
            await cloud.wait_for(lambda: len(cloud.events()) >= 6)
            assert [e.event_id for e in cloud.events()[3:]] == first
            await cloud.publish(
                acks_topic(ORG, AGENT), encode(EventAck(applied_seq=2)), retain=True
            )
            await until(lambda: _count_is(agent, 1))
            assert [r.seq for r in await agent.outbox.peek()] == [3]

        # The cloud applies the last one while the agent is away: its retained ack is what
        # the agent finds when it is back.
        await cloud.publish(acks_topic(ORG, AGENT), encode(EventAck(applied_seq=3)), retain=True)
        async with running_agent(config) as agent:
            await until(lambda: _count_is(agent, 0))
            assert agent.outbox.acked_seq == 3


async def test_an_agent_of_an_older_cloud_deletes_events_on_the_puback(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    config = agent_config(mqtt_broker.url, tmp_path / "agent", agent_id=AGENT)
    async with CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud:
        # A config without ``event_acks``: a cloud that will never acknowledge.
        await cloud.desired(DesiredConfig(agent_id=AGENT, revision=1))
        async with running_agent(config) as agent:
            await cloud.wait_for(lambda: cloud.on("config"))
            for i in range(3):
                await emit(agent, f"e{i}")
            await cloud.wait_for(lambda: len(cloud.events()) >= 3)
            await until(lambda: _count_is(agent, 0))
            assert not agent.outbox.keep_until_acked


async def _count_is(agent: Agent, rows: int) -> bool:
    return await agent.outbox.count() == rows


async def _keeps_until_acked(agent: Agent) -> bool:
    return agent.outbox.keep_until_acked


async def test_an_agent_confined_to_its_role_reads_its_config_and_acks(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    """The agent's own broker login, with the role the cloud gives it (cloud/mqttauth)."""
    password = "agent-password-for-the-test"
    login = LoginState(AGENT, ORG, "agent", AGENT, password, revoked=False)
    async with aiomqtt.Client(**mqtt_broker.client_kwargs()) as admin:
        await admin.subscribe(RESPONSE_TOPIC, qos=1)
        document = {"commands": login_commands(login)}
        await admin.publish(CONTROL_TOPIC, json.dumps(document), qos=1)
        async with asyncio.timeout(10):
            answer = await anext(aiter(admin.messages))
        assert isinstance(answer.payload, bytes)
        assert all("error" not in r for r in json.loads(answer.payload)["responses"])
    config = agent_config(mqtt_broker.url, tmp_path / "agent", agent_id=AGENT)
    config = msgspec.structs.replace(
        config,
        mqtt=MqttSettings(
            url=f"mqtt://{mqtt_broker.host}:{mqtt_broker.port}", username=AGENT, password=password
        ),
    )
    async with aiomqtt.Client(**mqtt_broker.client_kwargs()) as cloud:
        desired = DesiredConfig(agent_id=AGENT, revision=1, event_acks=True)
        await cloud.publish(config_topic(ORG, AGENT), encode(desired), qos=1, retain=True)
        async with running_agent(config) as agent:
            await until(lambda: _keeps_until_acked(agent))  # it read its config
            await emit(agent, "e1")
            await emit(agent, "e2")

            async def sent_but_kept() -> bool:
                return not await agent.outbox.unsent() and await agent.outbox.count() == 2

            await until(sent_but_kept)
            ack = encode(EventAck(applied_seq=2))
            await cloud.publish(acks_topic(ORG, AGENT), ack, qos=1, retain=True)
            await until(lambda: _count_is(agent, 0))  # and it read its acks
