"""Nobody on the LAN can drive a printer: the MQTT plane, attacked, on both brokers.

Each test runs against Mosquitto 2 with its dynamic-security plugin and against the
embedded broker, each in its own process, with the cloud provisioning every login through
the dynamic-security control topic (nothing set up by hand). Clients here are real sockets
speaking MQTT 3.1.1 byte for byte (tests/support/mqtt_raw.py), so every refusal is seen as
the broker sends it. A "nothing arrived" is proven with a sentinel: an allowed message sent
after the forbidden one on the same path, which would arrive second if the first leaked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from apf.demo.runner import free_port, serve_cloud
from cloud.mqttauth.control import CONTROL_TOPIC, RESPONSE_TOPIC
from shared.mqtt.packets import ConnectCode, PacketIdOnly, Will
from tests.support.broker import TestBroker, dynsec_file
from tests.support.mqtt_raw import RawClient

FAILED = 0x80  # SUBACK: refused


@dataclass
class Plane:
    broker: TestBroker
    api: httpx.AsyncClient
    org_id: str
    agents: dict[str, dict[str, Any]]  # name -> the registration answer
    dashboard: dict[str, Any]

    def root(self, name: str) -> str:
        return str(self.agents[name]["mqtt"]["topic_root"])

    async def connect(
        self, client_id: str, user: str | None, password: str | None
    ) -> tuple[RawClient, ConnectCode]:
        client = await RawClient.open(self.broker.host, self.broker.agent_port)
        return client, (await client.connect(client_id, user, password)).code

    async def agent(self, name: str, **kw: Any) -> RawClient:
        mqtt = self.agents[name]["mqtt"]
        client = await RawClient.open(self.broker.host, self.broker.agent_port)
        connack = await client.connect(mqtt["client_id"], mqtt["username"], mqtt["password"], **kw)
        assert connack.code == ConnectCode.ACCEPTED, f"agent {name}: {connack}"
        return client

    async def dash(self, client_id: str | None = None) -> RawClient:
        creds = self.dashboard
        client = await RawClient.open(self.broker.host, self.broker.agent_port)
        connack = await client.connect(
            client_id or creds["username"], creds["username"], creds["password"]
        )
        assert connack.code == ConnectCode.ACCEPTED, f"dashboard: {connack}"
        return client

    async def cloud(self) -> RawClient:
        """A stand-in for the cloud (the administrator's login, which may publish anything)."""
        client = await RawClient.open(self.broker.host, self.broker.port)
        connack = await client.connect(
            f"cloud-{free_port()}", self.broker.username, self.broker.password
        )
        assert connack.code == ConnectCode.ACCEPTED
        return client


@contextlib.asynccontextmanager
async def plane(broker: TestBroker, workdir: Path) -> AsyncIterator[Plane]:
    port = free_port()
    async with (
        serve_cloud(workdir, port, broker.url, broker.agent_port) as cloud,
        httpx.AsyncClient(
            base_url=cloud.base_url,
            timeout=30,
            headers={"Authorization": f"Bearer {cloud.api_key}"},
        ) as api,
    ):
        agents = {}
        for name in ("a", "b"):
            response = await api.post("/v1/agents", json={"name": f"agent-{name}"})
            assert response.status_code == 201, response.text
            agents[name] = response.json()
            assert agents[name]["mqtt"]["provisioned"] is True
        dashboard = (await api.post("/v1/mqtt-credentials", json={"name": "wall"})).json()
        assert dashboard["provisioned"] is True
        org_id = (await api.get("/v1/organization")).json()["id"]
        await _configs_published(broker, org_id, len(agents))
        yield Plane(broker, api, org_id, agents, dashboard)


async def _configs_published(broker: TestBroker, org_id: str, count: int) -> None:
    """The cloud publishes each new agent's retained config in the background: wait until
    the broker holds them all, so none arrives in the middle of a test as a live message."""
    client = await RawClient.open(broker.host, broker.port)
    try:
        connack = await client.connect(f"setup-{free_port()}", broker.username, broker.password)
        assert connack.code == ConnectCode.ACCEPTED
        await client.subscribe((f"apf/{org_id}/agents/+/config", 1))
        seen: set[str] = set()
        while len(seen) < count:
            seen.add((await client.next_publish(timeout_s=30)).topic)
    finally:
        client.disconnect()


async def publish_acked(client: RawClient, topic: str, payload: bytes, packet_id: int) -> None:
    """QoS 1: the broker acknowledges (a denied publish too, as MQTT 3.1.1 has no refusal)."""
    await client.publish(topic, payload, qos=1, packet_id=packet_id)
    while not isinstance(await client.next_packet(), PacketIdOnly):
        pass


async def only_the_sentinel_arrives(
    watcher: RawClient,
    sender: RawClient,
    topics: list[str],
    payload: bytes,
    *,
    sentinel_sender: RawClient,
    sentinel_topic: str,
) -> None:
    """`sender` publishes `payload` on each of `topics` (each acknowledged, so handled by
    the broker before what follows), then `sentinel_sender` a sentinel: the first message
    `watcher` gets must be the sentinel, so none of the others reached it."""
    for i, topic in enumerate(topics, start=1):
        await publish_acked(sender, topic, payload, i)
    await publish_acked(sentinel_sender, sentinel_topic, b"sentinel", 99)
    seen = await watcher.next_publish()
    # Retained messages held before the watcher subscribed (an agent's config) come first,
    # flagged retained (MQTT 3.1.1 §3.3.1.3); a forwarded publish never is.
    while seen.retain:
        seen = await watcher.next_publish()
    assert (seen.topic, seen.payload) == (sentinel_topic, b"sentinel")


async def test_anonymous_and_wrong_passwords_are_refused(
    secured_broker: TestBroker, tmp_path: Path
) -> None:
    async with plane(secured_broker, tmp_path) as p:
        a = p.agents["a"]["mqtt"]
        for user, password in ((None, None), (a["username"], "wrong"), ("nobody", "x")):
            client, code = await p.connect(a["client_id"], user, password)
            assert code == ConnectCode.NOT_AUTHORIZED, (user, password)
            await client.wait_closed()


async def test_an_agent_reads_and_writes_nothing_of_another_agent_nor_as_the_cloud(
    secured_broker: TestBroker, tmp_path: Path
) -> None:
    async with plane(secured_broker, tmp_path) as p:
        a, b = p.root("a"), p.root("b")
        agent_a = await p.agent("a")
        codes = await agent_a.subscribe(
            (f"{b}/config", 1),
            (f"{b}/commands", 1),
            (f"{b}/acks", 1),
            (f"{b}/#", 1),
            ("apf/#", 1),
            ("#", 1),
            (f"{a}/commands", 1),
        )
        assert codes[:6] == [FAILED] * 6 and codes[6] == 1
        cloud = await p.cloud()
        await publish_acked(cloud, f"{b}/commands", b"for b", 1)
        await publish_acked(cloud, f"{a}/commands", b"sentinel", 2)
        got = await agent_a.next_publish()
        assert (got.topic, got.payload) == (f"{a}/commands", b"sentinel")

        # A writes as B, as another organization, and as the cloud on its own inbox.
        watcher = await p.cloud()
        assert await watcher.subscribe(("apf/#", 1)) == [1]
        forged = [
            f"{b}/status",
            f"{b}/events",
            f"{b}/printers/prt_x/state",
            f"apf/org_other/agents/{p.agents['a']['agent']['id']}/events",
            f"{a}/config",
            f"{a}/commands",
            f"{a}/acks",
        ]
        await only_the_sentinel_arrives(
            watcher,
            agent_a,
            forged,
            b"forged",
            sentinel_sender=agent_a,
            sentinel_topic=f"{a}/events",
        )


async def test_an_agent_cannot_leave_a_will_on_another_agents_topic(
    secured_broker: TestBroker, tmp_path: Path
) -> None:
    async with plane(secured_broker, tmp_path) as p:
        mqtt = p.agents["a"]["mqtt"]
        forged = Will(f"{p.root('b')}/status", b'{"state":"offline"}', 1, True)
        client = await RawClient.open(p.broker.host, p.broker.agent_port)
        code = (
            await client.connect(mqtt["client_id"], mqtt["username"], mqtt["password"], will=forged)
        ).code
        if code == ConnectCode.ACCEPTED:  # Mosquitto admits it and drops the Will at use
            watcher = await p.cloud()
            await watcher.subscribe((f"{p.root('b')}/status", 1), (f"{p.root('a')}/events", 1))
            client.drop()
            sentinel = await p.agent("a")
            await publish_acked(sentinel, f"{p.root('a')}/events", b"sentinel", 1)
            assert (await watcher.next_publish()).payload == b"sentinel"
        else:
            assert code == ConnectCode.NOT_AUTHORIZED


async def test_a_dashboard_reads_reports_only_and_writes_nothing(
    secured_broker: TestBroker, tmp_path: Path
) -> None:
    async with plane(secured_broker, tmp_path) as p:
        org, a = p.org_id, p.root("a")
        dash = await p.dash()
        codes = await dash.subscribe(
            (f"apf/{org}/agents/+/config", 1),
            (f"apf/{org}/agents/+/commands", 1),
            (f"apf/{org}/agents/+/replies", 1),
            (f"apf/{org}/agents/+/acks", 1),
            (f"apf/{org}/#", 1),
            ("apf/org_other/agents/+/status", 1),
            ("#", 1),
            (f"apf/{org}/agents/+/events", 1),
        )
        assert codes == [FAILED] * 7 + [1]
        cloud = await p.cloud()
        secrets = [f"{a}/{kind}" for kind in ("config", "commands", "replies", "acks")]
        await only_the_sentinel_arrives(
            dash, cloud, secrets, b"secret", sentinel_sender=cloud, sentinel_topic=f"{a}/events"
        )

        watcher = await p.cloud()
        await watcher.subscribe(("apf/#", 1))
        written = [f"{a}/commands", f"{a}/status", f"{a}/config"]
        await only_the_sentinel_arrives(
            watcher,
            dash,
            written,
            b"from the dashboard",
            sentinel_sender=cloud,
            sentinel_topic=f"{a}/events",
        )


async def test_no_login_can_knock_an_agent_off_by_taking_its_client_id(
    secured_broker: TestBroker, tmp_path: Path
) -> None:
    async with plane(secured_broker, tmp_path) as p:
        agent_a = await p.agent("a")
        agent_id = p.agents["a"]["mqtt"]["client_id"]
        intruder = await RawClient.open(p.broker.host, p.broker.agent_port)
        code = (
            await intruder.connect(agent_id, p.dashboard["username"], p.dashboard["password"])
        ).code
        # The embedded broker refuses the id; Mosquitto's LAN listener replaces it with
        # the dashboard's user name (use_username_as_clientid). Either way A stays on.
        assert code in (ConnectCode.IDENTIFIER_REJECTED, ConnectCode.ACCEPTED)
        cloud = await p.cloud()
        await publish_acked(cloud, f"{p.root('a')}/commands", b"still here", 1)
        await agent_a.subscribe((f"{p.root('a')}/commands", 1))
        await publish_acked(cloud, f"{p.root('a')}/commands", b"still here", 2)
        assert (await agent_a.next_publish()).payload == b"still here"


async def test_a_revoked_agent_is_disconnected_within_5_s_and_cannot_return(
    secured_broker: TestBroker, tmp_path: Path
) -> None:
    async with plane(secured_broker, tmp_path) as p:
        agent_b = await p.agent("b")
        agent_id = p.agents["b"]["agent"]["id"]
        loop = asyncio.get_running_loop()
        started = loop.time()
        response = await p.api.delete(f"/v1/agents/{agent_id}")
        assert response.status_code == 204
        await agent_b.wait_closed(timeout_s=5)
        assert loop.time() - started < 5
        mqtt = p.agents["b"]["mqtt"]
        client, code = await p.connect(mqtt["client_id"], mqtt["username"], mqtt["password"])
        assert code == ConnectCode.NOT_AUTHORIZED
        await client.wait_closed()
        # Its retained topics are cleared: no dashboard shows it, no config is left.
        watcher = await p.cloud()
        await watcher.subscribe((f"{p.root('b')}/#", 1), (f"{p.root('a')}/events", 1))
        await publish_acked(await p.agent("a"), f"{p.root('a')}/events", b"sentinel", 1)
        assert (await watcher.next_publish()).payload == b"sentinel"


async def test_rotating_an_agents_password_retires_the_old_one(
    secured_broker: TestBroker, tmp_path: Path
) -> None:
    async with plane(secured_broker, tmp_path) as p:
        old = p.agents["a"]["mqtt"]
        connected = await p.agent("a")
        agent_id = p.agents["a"]["agent"]["id"]
        response = await p.api.post(f"/v1/agents/{agent_id}/credentials")
        assert response.status_code == 200, response.text
        new = response.json()["mqtt"]
        assert new["password"] != old["password"] and new["provisioned"] is True
        assert new["password"] in response.json()["config_toml"]
        await connected.wait_closed(timeout_s=5)
        client, code = await p.connect(old["client_id"], old["username"], old["password"])
        assert code == ConnectCode.NOT_AUTHORIZED
        await client.wait_closed()
        _, code = await p.connect(new["client_id"], new["username"], new["password"])
        assert code == ConnectCode.ACCEPTED


async def test_a_revoked_dashboard_credential_is_closed_and_refused(
    secured_broker: TestBroker, tmp_path: Path
) -> None:
    async with plane(secured_broker, tmp_path) as p:
        dash = await p.dash()
        response = await p.api.delete(f"/v1/mqtt-credentials/{p.dashboard['id']}")
        assert response.status_code == 204
        await dash.wait_closed(timeout_s=5)
        again, code = await p.connect(
            p.dashboard["username"], p.dashboard["username"], p.dashboard["password"]
        )
        assert code == ConnectCode.NOT_AUTHORIZED
        await again.wait_closed()
        listed = (await p.api.get("/v1/mqtt-credentials", params={"revoked": "true"})).json()
        assert [c["id"] for c in listed["data"]] == [p.dashboard["id"]]
        assert "password" not in listed["data"][0]


async def test_an_unrelated_subscription_gets_no_retained_messages(
    secured_broker: TestBroker, tmp_path: Path
) -> None:
    async with plane(secured_broker, tmp_path) as p:
        cloud = await p.cloud()
        for i, kind in enumerate(("status", "config", "acks"), start=1):
            await cloud.publish(
                f"{p.root('a')}/{kind}", b"retained", qos=1, retain=True, packet_id=i
            )
        dash = await p.dash()
        assert await dash.subscribe((f"apf/{p.org_id}/agents/+/events", 1)) == [1]
        await publish_acked(cloud, f"{p.root('a')}/events", b"sentinel", 9)
        got = await dash.next_publish()
        assert (got.topic, got.payload, got.retain) == (f"{p.root('a')}/events", b"sentinel", False)
        # And a matching one gets each once: status only (config is not the dashboard's).
        assert await dash.subscribe((f"apf/{p.org_id}/agents/+/status", 1), packet_id=2) == [1]
        first = await dash.next_publish()
        assert (first.topic, first.retain) == (f"{p.root('a')}/status", True)
        await publish_acked(cloud, f"{p.root('a')}/events", b"sentinel 2", 10)
        assert (await dash.next_publish()).payload == b"sentinel 2"


async def test_a_broker_that_lost_its_users_gets_every_login_back_from_the_cloud(
    secured_broker: TestBroker, tmp_path: Path
) -> None:
    async with plane(secured_broker, tmp_path) as p:
        broker = p.broker
        broker.stop()
        # Its users are gone; only the administrator is made again, as at first setup.
        assert broker.username is not None and broker.password is not None
        for state in broker.workdir.rglob("dynamic-security.json"):
            dynsec_file(state, broker.username, broker.password)
        broker.start()
        admin = await p.cloud()
        await admin.subscribe((RESPONSE_TOPIC, 1))
        deadline = asyncio.get_running_loop().time() + 30
        wanted = {p.agents["a"]["mqtt"]["username"], p.dashboard["username"]}
        while True:  # polling the broker's own list, with a deadline
            answer = await control(admin, {"command": "listClients"})
            clients = set(answer["data"]["clients"])
            if wanted <= clients:
                break
            assert asyncio.get_running_loop().time() < deadline, clients
            await asyncio.sleep(0.5)
        await p.agent("a")  # its old password works again
        await p.dash()


async def test_a_role_edited_on_the_broker_is_put_back_by_the_cloud(
    secured_broker: TestBroker, tmp_path: Path
) -> None:
    async with plane(secured_broker, tmp_path) as p:
        role = f"apf-dashboard-{p.org_id}"
        widen = {
            "command": "addRoleACL",
            "rolename": role,
            "acltype": "subscribePattern",
            "topic": "apf/#",
            "allow": True,
            "priority": 50,
        }
        admin = await p.cloud()
        await admin.subscribe((RESPONSE_TOPIC, 1))
        assert "error" not in await control(admin, widen)
        dash = await p.dash()
        assert await dash.subscribe((f"apf/{p.org_id}/#", 1)) == [1]  # the edit took
        p.broker.restart()  # the cloud reconnects and reconciles
        admin = await p.cloud()
        await admin.subscribe((RESPONSE_TOPIC, 1))
        deadline = asyncio.get_running_loop().time() + 30
        while True:  # polling the broker's role, with a deadline
            acls = (await control(admin, {"command": "getRole", "rolename": role}))["data"]
            if not any(a["topic"] == "apf/#" for a in acls["role"]["acls"]):
                break
            assert asyncio.get_running_loop().time() < deadline, acls
            await asyncio.sleep(0.5)
        dash = await p.dash()
        assert await dash.subscribe((f"apf/{p.org_id}/#", 1)) == [FAILED]


async def control(admin: RawClient, command: dict[str, Any]) -> dict[str, Any]:
    """One dynsec command as the administrator; its answer (others' answers skipped)."""
    await admin.publish(
        CONTROL_TOPIC, json.dumps({"commands": [{**command, "correlationData": "t"}]}).encode()
    )
    while True:
        answer: dict[str, Any] = json.loads((await admin.next_publish()).payload)["responses"][0]
        if answer.get("correlationData") == "t":
            return answer
