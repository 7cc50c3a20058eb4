"""Event acknowledgements end to end: the real bridge, the real agent, a real broker.

The broker dropping what it took while the bridge was away is what a broker that lost the
bridge's session does (DESIGN.md); here the bridge comes back under a new client id, so
nothing queued for the old session reaches it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiomqtt
from sqlalchemy import select
from sqlmodel import col

from agent.config import AgentConfig, MqttSettings
from agent.runtime.agent import Agent
from agent.sync.outbox import RowKind
from cloud.orchestration.tables import AgentLink, AppliedAgentEvent
from shared import wire
from tests.agent.runtime.cloud import now
from tests.agent.runtime.harness import running_agent
from tests.cloud.bridge.agent_double import agent_double
from tests.cloud.bridge.test_bridge import eventually, running_bridge
from tests.cloud.conftest import OrgClient, SessionRunner
from tests.support.broker import TestBroker


async def register(owner: OrgClient) -> tuple[str, str]:
    r = await owner.post("/v1/agents", json={"name": "pi-acks"})
    assert r.status_code == 201, r.text
    agent_id = r.json()["agent"]["id"]
    r = await owner.post(
        "/v1/printers",
        json={
            "name": "mk4-acks",
            # No such port: the agent's supervisor keeps retrying; the events are the test's.
            "connection_url": "serial:///nonexistent/ttyACM9?profile=prusa",
            "agent_id": agent_id,
        },
    )
    assert r.status_code == 201, r.text
    return agent_id, r.json()["id"]


def agent_config(owner: OrgClient, agent_id: str, broker: TestBroker, data: Path) -> AgentConfig:
    return AgentConfig(
        agent_id=agent_id,
        org_id=owner.org.org_id,
        data_dir=str(data),
        mqtt=MqttSettings(url=broker.url),
    )


async def emit(agent: Agent, printer_id: str, message: str) -> wire.Event:
    def build(seq: int, event_id: str) -> wire.Event:
        return wire.PrinterErrorEvent(
            event_id=event_id, seq=seq, ts=now(), printer_id=printer_id, message=message
        )

    return await agent.reporter.event(build, RowKind.EVENT)


async def applied(in_db: SessionRunner, agent_id: str, *events: wire.Event) -> list[int]:
    """Which of ``events`` the cloud applied, as their 1-based place in ``events``, in the
    order it applied them (each once: an event's id is the table's key)."""
    place = {event.event_id: i for i, event in enumerate(events, start=1)}

    async def run(session: Any) -> list[int]:
        stmt = (
            select(AppliedAgentEvent)
            .where(col(AppliedAgentEvent.agent_id) == agent_id)
            .order_by(col(AppliedAgentEvent.applied_at))
        )
        rows = (await session.execute(stmt)).scalars()
        return [place[row.event_id] for row in rows if row.event_id in place]

    return list(await in_db(run))


async def applied_through(in_db: SessionRunner, agent_id: str) -> int:
    async def run(session: Any) -> int:
        link = await session.get(AgentLink, agent_id)
        return int(link.applied_through_seq)

    return int(await in_db(run))


async def test_events_the_broker_dropped_while_the_bridge_was_away_are_sent_again(
    owner: OrgClient, mqtt_broker: TestBroker, in_db: SessionRunner, tmp_path: Path
) -> None:
    agent_id, printer_id = await register(owner)
    config = agent_config(owner, agent_id, mqtt_broker, tmp_path / "agent")
    async with running_agent(config) as agent:
        outbox = agent.outbox

        async def empty() -> bool:
            return await outbox.count() == 0

        async with running_bridge(owner, mqtt_broker, client_id="cloud-a"):

            async def keeps() -> bool:
                return outbox.keep_until_acked

            await eventually(keeps)  # the new cloud's config says it acknowledges
            m1 = await emit(agent, printer_id, "m1")
            await eventually(empty)  # applied, acknowledged, deleted

        m2 = await emit(agent, printer_id, "m2")
        m3 = await emit(agent, printer_id, "m3")

        async def sent_but_kept() -> bool:
            return not await outbox.unsent() and await outbox.count() == 2

        # The broker took both (PUBACK) while no cloud listened: they must stay.
        await eventually(sent_but_kept)
        assert await applied(in_db, agent_id, m1, m2, m3) == [1]

        async with running_bridge(owner, mqtt_broker, client_id="cloud-b"):
            # The returning bridge asks every agent to re-send; both arrive and are applied.
            await eventually(empty)
            assert await applied(in_db, agent_id, m1, m2, m3) == [1, 2, 3]
            assert outbox.acked_seq == await applied_through(in_db, agent_id)


async def test_a_restarted_agent_re_sends_and_a_duplicate_is_applied_once(
    owner: OrgClient, mqtt_broker: TestBroker, in_db: SessionRunner, tmp_path: Path
) -> None:
    agent_id, printer_id = await register(owner)
    config = agent_config(owner, agent_id, mqtt_broker, tmp_path / "agent")
    async with (
        running_bridge(owner, mqtt_broker, client_id="cloud-a"),
        running_agent(config) as agent,
    ):

        async def keeps() -> bool:
            return agent.outbox.keep_until_acked

        await eventually(keeps)
    # The bridge is gone; the agent runs again, sends, and stops with its events unacked.
    async with running_agent(config) as agent:
        first = await emit(agent, printer_id, "m1")
        second = await emit(agent, printer_id, "m2")

        async def sent_but_kept() -> bool:
            return not await agent.outbox.unsent() and await agent.outbox.count() == 2

        await eventually(sent_but_kept)

    async with running_bridge(owner, mqtt_broker, client_id="cloud-b"):
        async with running_agent(config) as agent:

            async def empty() -> bool:
                return await agent.outbox.count() == 0

            await eventually(empty)
        assert await applied(in_db, agent_id, first, second) == [1, 2]

        # The same event again (as after a lost ack): not applied twice, and acknowledged,
        # retained, to whoever subscribes next.
        async with aiomqtt.Client(**mqtt_broker.client_kwargs()) as client:
            await client.publish(
                wire.events_topic(owner.org.org_id, agent_id), wire.encode(first), qos=1
            )
            acks_topic = wire.acks_topic(owner.org.org_id, agent_id)
            await client.subscribe(acks_topic, qos=1)
            async for message in client.messages:
                assert message.topic.value == acks_topic  # the one subscription
                assert isinstance(message.payload, bytes)
                ack = wire.decode_ack(message.payload)
                assert message.retain and ack.applied_seq >= 2
                break
        assert await applied(in_db, agent_id, first, second) == [1, 2]


async def test_an_event_held_behind_a_missing_one_asks_the_agent_to_re_send(
    owner: OrgClient, mqtt_broker: TestBroker, in_db: SessionRunner
) -> None:
    agent_id, printer_id = await register(owner)
    org_id = owner.org.org_id
    acks_topic = wire.acks_topic(org_id, agent_id)
    async with (
        running_bridge(owner, mqtt_broker),
        agent_double(mqtt_broker, org_id, agent_id) as agent,
        aiomqtt.Client(**mqtt_broker.client_kwargs()) as watcher,
    ):
        await watcher.subscribe(acks_topic, qos=1)

        async def next_ack(wanted: Callable[[wire.EventAck], bool]) -> wire.EventAck:
            async for message in watcher.messages:
                if message.topic.value == acks_topic and isinstance(message.payload, bytes):
                    ack = wire.decode_ack(message.payload)
                    if wanted(ack):
                        return ack
            raise AssertionError("the watcher's connection ended")

        def error(message: str) -> wire.Event:
            event: wire.Event = agent.next_event(
                wire.PrinterErrorEvent, printer_id, message=message
            )
            return event

        m1, m2, m3 = error("m1"), error("m2"), error("m3")
        await agent.send_event(m1)
        assert (await next_ack(lambda a: a.applied_seq == 1)).resend is False
        # m2 is lost on the way: m3 waits, and the bridge asks for what is missing.
        await agent.send_event(m3)
        asked = await asyncio.wait_for(next_ack(lambda a: a.resend), 10)
        assert asked.applied_seq == 1
        await agent.send_event(m2)
        await agent.send_event(m3)  # a re-send repeats everything not acknowledged
        await asyncio.wait_for(next_ack(lambda a: a.applied_seq == 3), 10)
        # Applied once each, and in order although m3 came first.
        assert await applied(in_db, agent_id, m1, m2, m3) == [1, 2, 3]
