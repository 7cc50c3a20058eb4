"""Benchmark: printer state messages per second taken in by the cloud bridge, beside a bare
paho-mqtt subscriber on the same broker in the same run (target: bridge >= 50 % of bare).

    .venv/bin/python bench/ingest.py [--messages 20000] [--printers 200] [--events 2000]

Starts its own broker (``--broker mosquitto``, the default, with its dynamic-security plugin;
or ``--broker embedded``) on a free loopback port, closed as deployed: every client logs in,
the bridge as the cloud's administrator login, which the ACLs check on every message. A
SQLite database in a temp folder; one agent with N printers; the same burst of retained
QoS 1 state snapshots published twice: once to a bare paho subscriber, once to the bridge.
The bridge's rate counts a message as taken in once its batch is committed to the database
(snapshots of one printer inside a batch are coalesced to the newest, which is the design).

With ``--events N`` it then publishes N events of that agent (seq 1…N) to the same bridge
and times them until the database says all are applied through N (what the agent is
acknowledged), and counts the acknowledgements published (coalesced: far fewer than N).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from cloud.app import build_context
from cloud.bridge.inbound import StateIn
from cloud.bridge.service import Bridge, BridgeSettings
from cloud.context import CloudContext
from cloud.db import migrate
from cloud.db.models import Agent, Printer
from cloud.ids import IdPrefix, new_id
from cloud.orchestration.tables import AgentLink
from cloud.services.admin import create_org
from cloud.settings import Settings
from shared import wire
from shared.enums import PrinterStatus
from tests.support.broker import BrokerOptions, TestBroker, make_broker


def payloads(org_id: str, agent_id: str, printer_ids: list[str], n: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        pid = printer_ids[i % len(printer_ids)]
        state = wire.PrinterState(
            printer_id=pid,
            status=PrinterStatus.PRINTING,
            connected=True,
            ts=datetime.now(UTC),
            temperatures=wire.Temperatures(hotend=200 + i % 20, bed=60.0),
        )
        out.append((wire.printer_state_topic(org_id, agent_id, pid), wire.encode(state)))
    return out


def paho_client(broker: TestBroker, client_id: str) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.username_pw_set(broker.username, broker.password)
    return client


def publish_all(broker: TestBroker, messages: list[tuple[str, bytes]]) -> None:
    client = paho_client(broker, "bench-publisher")
    client.max_inflight_messages_set(100)
    client.connect(broker.host, broker.port)
    client.loop_start()
    infos = [client.publish(t, p, qos=1) for t, p in messages]
    for info in infos:
        info.wait_for_publish(timeout=60)
    client.disconnect()
    client.loop_stop()


def bare_rate(broker: TestBroker, messages: list[tuple[str, bytes]]) -> float:
    got = 0
    done = threading.Event()
    first: list[float] = []

    def on_message(_c: paho.Client, _u: object, _m: paho.MQTTMessage) -> None:
        nonlocal got
        if not first:
            first.append(time.perf_counter())
        got += 1
        if got == len(messages):
            done.set()

    sub = paho_client(broker, "bench-bare")
    sub.on_message = on_message
    sub.connect(broker.host, broker.port)
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.loop_start()
    sub.subscribe("apf/+/agents/+/printers/+/state", qos=1)
    subscribed.wait(10)
    publish_all(broker, messages)
    done.wait(120)
    elapsed = time.perf_counter() - first[0]
    sub.disconnect()
    sub.loop_stop()
    return got / elapsed


def event_payloads(org_id: str, agent_id: str, printer_id: str, n: int) -> list[tuple[str, bytes]]:
    topic = wire.events_topic(org_id, agent_id)
    return [
        (
            topic,
            wire.encode(
                wire.PrinterOnlineEvent(
                    event_id=f"bench{seq}", seq=seq, ts=datetime.now(UTC), printer_id=printer_id
                )
            ),
        )
        for seq in range(1, n + 1)
    ]


@dataclass(frozen=True, slots=True)
class EventFigures:
    per_s: float
    elapsed_s: float
    acks: int


async def bridge_rate(
    broker: TestBroker, data_dir: Path, n_messages: int, n_printers: int, n_events: int = 0
) -> tuple[float, float, EventFigures | None]:
    settings = Settings(data_dir=str(data_dir))
    ctx = build_context(settings)
    await migrate.upgrade(ctx.engine)
    async with ctx.sessions() as session:
        org = await create_org(session, "bench", owner_email="b@bench.test", plan="pro")
        agent = Agent(
            id=new_id(IdPrefix.AGENT),
            org_id=org.org_id,
            name="bench",
            mqtt_username="bench",
        )
        session.add(agent)
        printer_ids = [new_id(IdPrefix.PRINTER) for _ in range(n_printers)]
        await session.flush()
        for pid in printer_ids:
            session.add(
                Printer(
                    id=pid,
                    org_id=org.org_id,
                    agent_id=agent.id,
                    name=pid,
                    connection_kind="serial",
                    connection_url="serial:///dev/null",
                )
            )
        await session.commit()
    messages = payloads(org.org_id, agent.id, printer_ids, n_messages)
    bridge = Bridge(ctx, BridgeSettings(mqtt_url=broker.url, client_id="bench-bridge"))
    taken = 0
    first: list[float] = []
    done = asyncio.Event()
    apply_states = bridge.applier.apply_states

    async def counting(items: list[StateIn]) -> None:
        nonlocal taken
        await apply_states(items)
        taken += len(items)
        if taken >= n_messages:
            done.set()

    bridge.applier.apply_states = counting  # type: ignore[method-assign,assignment]
    handler = bridge.link._handler

    async def timing(topic: str, payload: bytes) -> None:
        # The clock starts at the first message in, as for the bare subscriber: not at the
        # first batch, which would leave out the batch window and the first batch's arrival.
        if not first:
            first.append(time.perf_counter())
        await handler(topic, payload)

    bridge.link._handler = timing
    task = asyncio.create_task(bridge.run())
    await bridge.link.wait_connected(10)
    await asyncio.to_thread(publish_all, broker, messages)
    await asyncio.wait_for(done.wait(), 300)
    elapsed = time.perf_counter() - first[0]
    events = None
    if n_events:
        batch = event_payloads(org.org_id, agent.id, printer_ids[0], n_events)
        events = await time_events(ctx, bridge, broker, agent.id, batch)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await ctx.engine.dispose()
    return taken / elapsed, elapsed, events


async def time_events(
    ctx: CloudContext,
    bridge: Bridge,
    broker: TestBroker,
    agent_id: str,
    batch: list[tuple[str, bytes]],
) -> EventFigures:
    acks_before = bridge.acks.published
    started = time.perf_counter()
    await asyncio.to_thread(publish_all, broker, batch)
    while True:  # a benchmark may poll: the figure is the time until the database agrees
        async with ctx.sessions() as session:
            link = await session.get(AgentLink, agent_id)
            if link is not None and link.applied_through_seq >= len(batch):
                break
        await asyncio.sleep(0.02)
    events_s = time.perf_counter() - started
    return EventFigures(len(batch) / events_s, events_s, bridge.acks.published - acks_before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--printers", type=int, default=200)
    parser.add_argument("--events", type=int, default=0)
    parser.add_argument("--broker", choices=["mosquitto", "embedded"], default="mosquitto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # A burst benchmark: no broker may drop what waits for a slow subscriber.
        broker = make_broker(Path(tmp), BrokerOptions(unbounded_queues=True), kind=args.broker)
        broker.start()
        try:
            messages_for_bare = payloads("org_bench", "agt_bench", ["prt_x"], args.messages)
            bare = bare_rate(broker, messages_for_bare)
            bridged, elapsed, events = asyncio.run(
                bridge_rate(broker, Path(tmp) / "data", args.messages, args.printers, args.events)
            )
        finally:
            broker.stop()
    print(
        f"broker: {broker.kind}, logins and ACLs on; {args.messages} state messages, "
        f"{args.printers} printers"
    )
    print(f"bare paho subscriber: {bare:,.0f} msg/s")
    print(
        f"cloud bridge (SQLite): {bridged:,.0f} msg/s ({elapsed:.2f} s) = "
        f"{100 * bridged / bare:.0f} % of bare"
    )
    if events is not None:
        print(
            f"events applied and acknowledged: {events.per_s:,.0f} events/s "
            f"({args.events} in {events.elapsed_s:.2f} s), {events.acks} ack publishes"
        )


if __name__ == "__main__":
    main()
