"""The embedded broker with real clients on real sockets: logins, ACLs, retained messages,
sessions, Wills, takeover, shared subscriptions, kicks and TLS."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from cloud.broker import Broker, BrokerSettings, Listener
from cloud.broker.dynsec import CONTROL_TOPIC, RESPONSE_TOPIC
from cloud.broker.throttle import ThrottleSettings
from shared.mqtt.packets import ConnectCode, PacketIdOnly, PacketType, Will
from tests.support.mqtt_raw import RawClient
from tests.support.tls import TestCA

ADMIN, ADMIN_PW = "admin", "admin-password"
QUICK = ThrottleSettings(
    threshold=5, window_s=60, lockout_s=30, failure_delay_s=0.0, lock_loopback=True
)


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[Broker]:
    settings = BrokerSettings(
        listeners=(Listener("127.0.0.1", 0),), data_dir=tmp_path / "broker", throttle=QUICK
    )
    async with Broker(settings) as running:
        running.security.ensure_admin(ADMIN, ADMIN_PW)
        yield running


async def admin(broker: Broker, *commands: dict[str, Any]) -> list[dict[str, Any]]:
    """Run dynsec commands as the admin, over MQTT, and return the answers."""
    async with aiomqtt.Client(
        "127.0.0.1", broker.ports[0], username=ADMIN, password=ADMIN_PW
    ) as client:
        await client.subscribe(RESPONSE_TOPIC)
        await client.publish(CONTROL_TOPIC, json.dumps({"commands": list(commands)}), qos=1)
        async with asyncio.timeout(10):
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                answers: list[dict[str, Any]] = json.loads(message.payload)["responses"]
                return answers
    raise AssertionError("no answer")


async def add_user(broker: Broker, name: str, acls: list[tuple[str, str]], **extra: Any) -> None:
    role = {
        "command": "createRole",
        "rolename": f"role-{name}",
        "acls": [{"acltype": t, "topic": topic, "allow": True, "priority": 1} for t, topic in acls],
    }
    create = {
        "command": "createClient",
        "username": name,
        "password": f"{name}-pw",
        "roles": [{"rolename": f"role-{name}"}],
        **extra,
    }
    answers = await admin(broker, role, create)
    assert not any("error" in a for a in answers), answers


async def raw(broker: Broker, client_id: str, user: str | None, **kw: Any) -> tuple[RawClient, int]:
    client = await RawClient.open("127.0.0.1", broker.ports[0])
    password = kw.pop("password", f"{user}-pw" if user else None)
    connack = await client.connect(client_id, user, password, **kw)
    return client, connack.code


READ_ALL = [("subscribePattern", "#"), ("publishClientSend", "#")]


async def test_nobody_gets_in_without_the_right_password(broker: Broker) -> None:
    await add_user(broker, "u", READ_ALL)
    for user, password in ((None, None), ("u", "wrong"), ("nobody", "u-pw"), ("u", "")):
        client, code = await raw(broker, "c", user, password=password)
        assert code == ConnectCode.NOT_AUTHORIZED, (user, password)
        await client.wait_closed()
    client, code = await raw(broker, "c", "u")
    assert code == ConnectCode.ACCEPTED


async def test_repeated_failures_lock_the_address_out_even_for_the_right_password(
    broker: Broker,
) -> None:
    await add_user(broker, "u", READ_ALL)
    for _ in range(QUICK.threshold):
        _, code = await raw(broker, "c", "u", password="guess")
        assert code == ConnectCode.NOT_AUTHORIZED
    _, code = await raw(broker, "c", "u")
    assert code == ConnectCode.NOT_AUTHORIZED
    assert broker.throttle.locked_for_s("127.0.0.1") > 0


async def test_an_mqtt5_client_is_told_the_version_is_unacceptable(broker: Broker) -> None:
    _, code = await raw(broker, "c", "admin", password=ADMIN_PW, level=5)
    assert code == ConnectCode.BAD_PROTOCOL_VERSION


async def test_a_subscription_gets_the_retained_messages_it_matches_once_each_and_no_others(
    broker: Broker,
) -> None:
    await add_user(broker, "u", READ_ALL)
    pub, _ = await raw(broker, "pub", "u")
    for topic in ("apf/o/agents/a/status", "apf/o/agents/a/config", "other/x"):
        await pub.publish(topic, f"retained {topic}".encode(), qos=1, retain=True)
        assert isinstance(await pub.next_packet(), PacketIdOnly)  # PUBACK: stored
    unrelated, _ = await raw(broker, "unrelated", "u")
    assert await unrelated.subscribe(("nothing/here", 1)) == [1]
    await pub.publish("nothing/here", b"live", qos=1, packet_id=2)
    first = await unrelated.next_publish()
    assert (first.topic, first.payload, first.retain) == ("nothing/here", b"live", False)
    overlapping, _ = await raw(broker, "overlap", "u")
    codes = await overlapping.subscribe(("apf/#", 1), ("apf/o/agents/+/status", 0))
    assert codes == [1, 0]
    got = [await overlapping.next_publish() for _ in range(2)]
    assert sorted(p.topic for p in got) == ["apf/o/agents/a/config", "apf/o/agents/a/status"]
    assert all(p.retain and p.qos == 1 for p in got)  # once, at the higher QoS
    await pub.publish("nothing/here", b"sentinel", packet_id=3)
    await overlapping.subscribe(("nothing/here", 0), packet_id=2)
    await pub.publish("nothing/here", b"sentinel", packet_id=4)
    assert (await overlapping.next_publish()).payload == b"sentinel"  # no third retained


async def test_qos1_messages_wait_for_an_absent_persistent_session(broker: Broker) -> None:
    await add_user(broker, "u", READ_ALL)
    sub, _ = await raw(broker, "keeper", "u", clean=False)
    await sub.subscribe(("jobs/#", 1))
    sub.disconnect()
    pub, _ = await raw(broker, "pub", "u")
    for i in range(5):
        await pub.publish(f"jobs/{i}", f"job {i}".encode(), qos=1, packet_id=i + 1)
    await pub.publish("jobs/qos0", b"lost", qos=0)
    back, _ = await raw(broker, "keeper", "u", clean=False)
    assert [(await back.next_publish()).payload for _ in range(5)] == [
        f"job {i}".encode() for i in range(5)
    ]


async def test_the_will_goes_out_when_a_client_vanishes_not_when_it_says_goodbye(
    broker: Broker,
) -> None:
    await add_user(broker, "u", READ_ALL)
    watcher, _ = await raw(broker, "watcher", "u")
    await watcher.subscribe(("status/#", 1))
    polite, _ = await raw(broker, "polite", "u", will=Will("status/polite", b"gone", 1, False))
    polite.disconnect()
    crashed, _ = await raw(broker, "crashed", "u", will=Will("status/crashed", b"gone", 1, False))
    crashed.drop()
    assert (await watcher.next_publish()).topic == "status/crashed"
    silent, _ = await raw(
        broker, "silent", "u", keepalive_s=1, will=Will("status/silent", b"gone", 1, False)
    )
    # Says nothing after CONNECT: 1.5 keep-alive periods later the broker ends it.
    assert (await watcher.next_publish(timeout_s=5)).topic == "status/silent"
    await silent.wait_closed(timeout_s=1)


async def test_a_will_on_a_topic_the_user_may_not_publish_is_refused_at_connect(
    broker: Broker,
) -> None:
    await add_user(broker, "agent", [("publishClientSend", "apf/o/agents/a/status")])
    _, code = await raw(broker, "a", "agent", will=Will("apf/o/agents/b/status", b"x", 1, True))
    assert code == ConnectCode.NOT_AUTHORIZED
    _, code = await raw(broker, "a", "agent", will=Will("apf/o/agents/a/status", b"x", 1, True))
    assert code == ConnectCode.ACCEPTED


async def test_only_the_same_user_can_take_a_client_id_over(broker: Broker) -> None:
    await add_user(broker, "agent", READ_ALL, clientid="agt_1")
    await add_user(broker, "dash", READ_ALL)
    first, _ = await raw(broker, "agt_1", "agent", clean=False)
    _, code = await raw(broker, "agt_1", "dash")
    assert code == ConnectCode.IDENTIFIER_REJECTED  # reserved for user "agent"
    await add_user(broker, "other", READ_ALL)
    _, code = await raw(broker, "other-1", "other")
    assert code == ConnectCode.ACCEPTED
    _, code = await raw(broker, "other-1", "dash")
    assert code == ConnectCode.IDENTIFIER_REJECTED  # another user's live session
    _, code = await raw(broker, "agt_1", "agent", clean=False)
    assert code == ConnectCode.ACCEPTED
    await first.wait_closed()  # taken over by the same user


async def test_acls_confine_publishing_subscribing_and_receiving(broker: Broker) -> None:
    await add_user(broker, "u", READ_ALL)
    await add_user(
        broker,
        "agent",
        [("publishClientSend", "apf/o/agents/a/#"), ("subscribeLiteral", "apf/o/agents/a/config")],
    )
    watcher, _ = await raw(broker, "watcher", "u")
    await watcher.subscribe(("apf/#", 1))
    agent, _ = await raw(broker, "a", "agent")
    assert await agent.subscribe(
        ("apf/o/agents/a/config", 1), ("apf/o/agents/b/config", 1), ("apf/#", 1)
    ) == [1, 0x80, 0x80]
    await agent.publish("apf/o/agents/b/commands", b"denied", qos=1, packet_id=1)
    assert isinstance(await agent.next_packet(), PacketIdOnly)  # acknowledged, then dropped
    await agent.publish("apf/o/agents/a/status", b"allowed", qos=1, packet_id=2)
    assert (await watcher.next_publish()).payload == b"allowed"


async def test_deleting_a_user_disconnects_it_and_it_cannot_return(broker: Broker) -> None:
    await add_user(broker, "agent", READ_ALL)
    client, _ = await raw(broker, "a", "agent")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await admin(broker, {"command": "deleteClient", "username": "agent"})
    await client.wait_closed(timeout_s=5)
    assert loop.time() - started < 5
    _, code = await raw(broker, "a", "agent")
    assert code == ConnectCode.NOT_AUTHORIZED


async def test_narrowing_a_role_drops_subscriptions_it_no_longer_allows(broker: Broker) -> None:
    await add_user(broker, "u", READ_ALL)
    await add_user(broker, "dash", [("subscribePattern", "apf/#")])
    dash, _ = await raw(broker, "d", "dash")
    await dash.subscribe(("apf/o/#", 1))
    await admin(
        broker,
        {
            "command": "removeRoleACL",
            "rolename": "role-dash",
            "acltype": "subscribePattern",
            "topic": "apf/#",
        },
    )
    pub, _ = await raw(broker, "pub", "u")
    await pub.publish("apf/o/x", b"after", qos=1)
    with pytest.raises(TimeoutError):
        await dash.next_publish(timeout_s=0.5)


async def test_shared_subscriptions_split_the_messages(broker: Broker) -> None:
    await add_user(broker, "u", [*READ_ALL, ("subscribePattern", "$share/+/#")])
    members = [(await raw(broker, f"m{i}", "u"))[0] for i in range(2)]
    for member in members:
        assert await member.subscribe(("$share/cloud/work/#", 1)) == [1]
    pub, _ = await raw(broker, "pub", "u")
    for i in range(10):
        await pub.publish(f"work/{i}", str(i).encode(), qos=1, packet_id=i + 1)
    got = [[(await m.next_publish()).payload for _ in range(5)] for m in members]
    assert sorted(got[0] + got[1]) == sorted(str(i).encode() for i in range(10))


async def test_qos2_from_a_client_is_delivered_once(broker: Broker) -> None:
    await add_user(broker, "u", READ_ALL)
    watcher, _ = await raw(broker, "w", "u")
    await watcher.subscribe(("q2", 1))
    pub, _ = await raw(broker, "p", "u")
    await pub.publish("q2", b"once", qos=2, packet_id=9)
    assert await pub.next_packet() == PacketIdOnly(PacketType.PUBREC, 9)
    await pub.publish("q2", b"once", qos=2, packet_id=9)  # resent before PUBREL: a duplicate
    assert (await watcher.next_publish()).payload == b"once"
    with pytest.raises(TimeoutError):
        await watcher.next_publish(timeout_s=0.3)


async def test_a_protocol_violation_closes_only_that_connection(broker: Broker) -> None:
    await add_user(broker, "u", READ_ALL)
    good, _ = await raw(broker, "good", "u")
    await good.subscribe(("t", 0))
    bad, _ = await raw(broker, "bad", "u")
    bad.writer.write(b"\x36\x05\x00\x01a\x00\x01")  # PUBLISH with QoS 3
    await bad.wait_closed()
    other, _ = await raw(broker, "other", "u")
    await other.publish("t", b"still fine")
    assert (await good.next_publish()).payload == b"still fine"


async def test_tls_listener_verifies_and_refuses_a_client_that_does_not_trust_it(
    tmp_path: Path,
) -> None:
    ca = TestCA(tmp_path / "ca")
    cert, key = ca.server_cert("127.0.0.1")
    settings = BrokerSettings(listeners=(Listener("127.0.0.1", 0, str(cert), str(key)),))
    async with Broker(settings) as broker:
        broker.security.ensure_admin(ADMIN, ADMIN_PW)
        good = ssl.create_default_context(cafile=str(ca.cert))
        client = await RawClient.open("127.0.0.1", broker.ports[0], tls=good)
        assert (await client.connect("c", ADMIN, ADMIN_PW)).code == ConnectCode.ACCEPTED
        stranger = TestCA(tmp_path / "other")
        wrong = ssl.create_default_context(cafile=str(stranger.cert))
        with pytest.raises(ssl.SSLCertVerificationError):
            await RawClient.open("127.0.0.1", broker.ports[0], tls=wrong)
