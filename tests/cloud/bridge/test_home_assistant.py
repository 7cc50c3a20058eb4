"""Home Assistant discovery and buttons, against a real broker, the real API and the bridge."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiomqtt

from cloud.homeassistant.discovery import BIRTH_TOPIC, Press, command_topic
from cloud.homeassistant.presses import carry_out
from shared import wire
from shared.enums import AgentState, PrinterAction, PrinterStatus
from tests.cloud.bridge.agent_double import agent_double
from tests.cloud.bridge.test_bridge import eventually, running_bridge, setup_farm
from tests.cloud.conftest import OrgClient
from tests.support.broker import TestBroker

KEYS = (
    ("sensor", "status"),
    ("sensor", "progress"),
    ("sensor", "remaining"),
    ("sensor", "hotend"),
    ("sensor", "bed"),
    ("sensor", "job"),
    ("binary_sensor", "connected"),
    ("button", "pause"),
    ("button", "resume"),
    ("button", "cancel"),
)


def topics_of(org_id: str, printer_id: str) -> set[str]:
    return {f"homeassistant/{c}/apf_{org_id}/{printer_id}_{k}/config" for c, k in KEYS}


class Watcher:
    """What Home Assistant would see of one organization's discovery topics."""

    def __init__(self) -> None:
        self.latest: dict[str, bytes] = {}
        self.count: dict[str, int] = {}

    def config(self, topic: str) -> dict[str, Any]:
        return dict(json.loads(self.latest[topic]))

    def has(self, topics: set[str], *, empty: bool = False) -> bool:
        return all(t in self.latest and (self.latest[t] == b"") is empty for t in topics)


@contextlib.asynccontextmanager
async def watching(broker: TestBroker, org_id: str) -> AsyncIterator[Watcher]:
    watcher = Watcher()
    async with aiomqtt.Client(**broker.client_kwargs(), identifier=f"ha-{org_id}"[:64]) as c:
        await c.subscribe(f"homeassistant/+/apf_{org_id}/+/config", qos=1)

        async def pump() -> None:
            async for message in c.messages:
                payload = message.payload
                data = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
                watcher.latest[message.topic.value] = data
                watcher.count[message.topic.value] = watcher.count.get(message.topic.value, 0) + 1

        task = asyncio.create_task(pump(), name="ha-watcher")
        try:
            yield watcher
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task


async def retained(broker: TestBroker, topic_filter: str, wait_s: float = 1.0) -> dict[str, bytes]:
    """The retained messages a new subscriber gets (the broker sends them at once)."""
    found: dict[str, bytes] = {}
    async with aiomqtt.Client(**broker.client_kwargs()) as client:
        await client.subscribe(topic_filter, qos=1)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_s):
                async for message in client.messages:
                    assert message.retain
                    found[message.topic.value] = bytes(message.payload)
    return found


@contextlib.asynccontextmanager
async def home_assistant_login(
    broker: TestBroker, login: dict[str, Any]
) -> AsyncIterator[aiomqtt.Client]:
    """Connect as Home Assistant does, with the dashboard login and a Will on the birth
    topic (which the login must allow, or the broker refuses the connection)."""
    async with aiomqtt.Client(
        broker.host,
        broker.port,
        username=login["username"],
        password=login["password"],
        identifier=login["username"],
        will=aiomqtt.Will(BIRTH_TOPIC, b"offline", qos=1, retain=False),
    ) as client:
        yield client


async def enable(owner: OrgClient, on: bool = True) -> None:
    r = await owner.patch("/v1/organization", json={"home_assistant_enabled": on})
    assert r.status_code == 200, r.text
    assert r.json()["home_assistant_enabled"] is on


async def test_enabling_publishes_retained_configs_and_a_birth_republishes_them(
    owner: OrgClient, mqtt_broker: TestBroker
) -> None:
    org = owner.org.org_id
    agent_id, printer_id, _ = await setup_farm(owner)
    mine = topics_of(org, printer_id)
    async with running_bridge(owner, mqtt_broker), watching(mqtt_broker, org) as ha:
        await enable(owner)

        async def published() -> bool:
            return ha.has(mine)

        await eventually(published)
        assert set(ha.latest) == mine
        state_topic = f"apf/{org}/agents/{agent_id}/printers/{printer_id}/state"
        status_topic = f"apf/{org}/agents/{agent_id}/status"
        device = {
            "identifiers": [f"apf_{printer_id}"],
            "name": "mk4-1",
            "manufacturer": "AutoPrintFarm",
            "model": "Prusa MK4",
        }
        agent_availability = {
            "topic": status_topic,
            "value_template": "{{ value_json.state }}",
            "payload_available": "online",
            "payload_not_available": "offline",
        }
        for component, key in KEYS:
            config = ha.config(f"homeassistant/{component}/apf_{org}/{printer_id}_{key}/config")
            assert config["unique_id"] == f"apf_{printer_id}_{key}"
            assert config["device"] == device
            assert config["availability_mode"] == "all"
            assert config["availability"][0] == agent_availability
            if key != "connected":  # the connectivity sensor depends on its agent alone
                assert config["availability"][1]["topic"] == state_topic
            if component == "button":
                assert config["command_topic"] == command_topic(org, printer_id)
                assert config["payload_press"] == key
                assert config["retain"] is False
            else:
                assert config["state_topic"] == state_topic
        hotend = ha.config(f"homeassistant/sensor/apf_{org}/{printer_id}_hotend/config")
        assert (hotend["device_class"], hotend["unit_of_measurement"]) == ("temperature", "°C")
        connected = ha.config(
            f"homeassistant/binary_sensor/apf_{org}/{printer_id}_connected/config"
        )
        assert connected["device_class"] == "connectivity"
        assert len(connected["availability"]) == 1

        # Retained: a Home Assistant that connects later finds them.
        assert set(await retained(mqtt_broker, f"homeassistant/+/apf_{org}/+/config")) == mine

        # Home Assistant restarts: its birth message brings every config again.
        before = dict(ha.count)
        async with aiomqtt.Client(**mqtt_broker.client_kwargs()) as home_assistant:
            await home_assistant.publish(BIRTH_TOPIC, b"online", qos=1)

        async def republished() -> bool:
            return all(ha.count.get(t, 0) > before[t] for t in mine)

        await eventually(republished)


async def test_deleting_a_printer_or_disabling_removes_the_entities(
    owner: OrgClient, mqtt_broker: TestBroker
) -> None:
    org = owner.org.org_id
    agent_id, first, _ = await setup_farm(owner)
    r = await owner.post(
        "/v1/printers",
        json={"name": "mk4-2", "connection_url": "serial:///dev/ttyACM1", "agent_id": agent_id},
    )
    assert r.status_code == 201, r.text
    second = r.json()["id"]
    async with running_bridge(owner, mqtt_broker), watching(mqtt_broker, org) as ha:
        await enable(owner)

        async def both() -> bool:
            return ha.has(topics_of(org, first) | topics_of(org, second))

        await eventually(both)

        assert (await owner.delete(f"/v1/printers/{first}")).status_code == 204

        async def first_gone() -> bool:
            return ha.has(topics_of(org, first), empty=True)

        await eventually(first_gone)
        assert ha.has(topics_of(org, second))
        left = await retained(mqtt_broker, f"homeassistant/+/apf_{org}/+/config")
        assert set(left) == topics_of(org, second)

        await enable(owner, False)

        async def second_gone() -> bool:
            return ha.has(topics_of(org, second), empty=True)

        await eventually(second_gone)
        assert await retained(mqtt_broker, f"homeassistant/+/apf_{org}/+/config") == {}


async def test_a_press_by_the_orgs_dashboard_login_pauses_and_anything_else_is_ignored(
    owner: OrgClient, mqtt_broker: TestBroker
) -> None:
    org = owner.org.org_id
    agent_id, printer_id, _ = await setup_farm(owner)
    topic = command_topic(org, printer_id)
    # A press left retained on the broker (a client set the flag) is never acted on.
    async with aiomqtt.Client(**mqtt_broker.client_kwargs()) as admin:
        await admin.publish(topic, b"cancel", qos=1, retain=True)
    try:
        async with (
            running_bridge(owner, mqtt_broker),
            agent_double(mqtt_broker, org, agent_id) as agent,
        ):
            await enable(owner)
            r = await owner.post("/v1/mqtt-credentials", json={"name": "home-assistant"})
            assert r.status_code == 201, r.text
            login = r.json()
            # The answer waits for the login to be on the broker: usable at once.
            assert login["provisioned"] is True
            await agent.status(AgentState.ONLINE, session=1)
            await agent.state(printer_id, PrinterStatus.PRINTING)

            async def printing() -> bool:
                body = (await owner.get(f"/v1/printers/{printer_id}")).json()
                return bool(body["status"] == "printing")

            await eventually(printing)
            async with home_assistant_login(mqtt_broker, login) as home_assistant:
                await home_assistant.publish(BIRTH_TOPIC, b"online", qos=1)
                for garbage in (b"G28", b"reboot", b"\xff\xfe", b"", b"pause please"):
                    await home_assistant.publish(topic, garbage, qos=1)
                await home_assistant.publish(topic, b"pause", qos=1)
                command = await agent.next_command()
                # The first command the agent gets is the pause: no garbage, no stale cancel.
                assert isinstance(command, wire.PauseJob), command
                assert command.printer_id == printer_id
                await agent.reply(command.command_id, printer_id)
    finally:
        async with aiomqtt.Client(**mqtt_broker.client_kwargs()) as admin:
            await admin.publish(topic, b"", qos=1, retain=True)


async def test_an_organization_without_the_setting_gets_no_entities(
    owner: OrgClient, other: OrgClient, mqtt_broker: TestBroker
) -> None:
    _, printer_id, _ = await setup_farm(owner)
    _, rival_printer, _ = await setup_farm(other)
    async with (
        running_bridge(owner, mqtt_broker),
        watching(mqtt_broker, owner.org.org_id) as mine,
        watching(mqtt_broker, other.org.org_id) as theirs,
    ):
        await enable(other)

        async def rivals_published() -> bool:
            return theirs.has(topics_of(other.org.org_id, rival_printer))

        await eventually(rivals_published)  # a pass has run, and had our printer to consider
        assert mine.latest == {}
        assert await retained(mqtt_broker, f"homeassistant/+/apf_{owner.org.org_id}/+/config") == {}
        # Its buttons do nothing either (the broker would carry a press to the cloud).
        app = owner.api.app.state["ctx"]
        press = Press(owner.org.org_id, printer_id, PrinterAction.PAUSE)
        assert await carry_out(app, press) is False
        # Nor can one organization press another's printer: the printer is not found there.
        assert (
            await carry_out(app, Press(other.org.org_id, printer_id, PrinterAction.PAUSE)) is False
        )
