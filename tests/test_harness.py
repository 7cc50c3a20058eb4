"""The test harness itself: the broker fixture is a real broker, the database a real one."""

from __future__ import annotations

import asyncio
import threading

import asyncpg
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.broker import TestBroker


def client_for(broker: TestBroker) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.username_pw_set(broker.username, broker.password)
    return client


def test_broker_refuses_anonymous_clients(mqtt_broker: TestBroker) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2)
    refused = threading.Event()
    client.on_connect = lambda _c, _u, _f, rc, _p: refused.set() if rc.is_failure else None
    client.connect(mqtt_broker.host, mqtt_broker.port)
    client.loop_start()
    try:
        assert refused.wait(5), "an anonymous client was let in"
    finally:
        client.loop_stop()


def _roundtrip(broker: TestBroker, topic: str, payload: bytes, *, retain: bool) -> bytes:
    """Publish with one client and receive with another; return what arrived."""
    got = threading.Event()
    received: list[bytes] = []

    def on_message(_c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        received.append(bytes(msg.payload))
        got.set()

    sub = client_for(broker)
    sub.on_message = on_message
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    try:
        if retain:
            pub = client_for(broker)
            pub.connect(broker.host, broker.port)
            pub.loop_start()
            pub.publish(topic, payload, qos=1, retain=True).wait_for_publish(timeout=5)
            pub.disconnect()
            pub.loop_stop()
            sub.subscribe(topic, qos=1)
        else:
            subscribed = threading.Event()
            sub.on_subscribe = lambda *_a: subscribed.set()
            sub.subscribe(topic, qos=1)
            assert subscribed.wait(5)
            sub.publish(topic, payload, qos=1).wait_for_publish(timeout=5)
        assert got.wait(5), "message did not arrive"
    finally:
        sub.disconnect()
        sub.loop_stop()
    return received[0]


def test_broker_delivers_messages(mqtt_broker: TestBroker) -> None:
    assert mqtt_broker.port != 1883
    assert _roundtrip(mqtt_broker, "apf/t/x", b"hello", retain=False) == b"hello"


def test_broker_restart_keeps_port_and_retained_messages(mqtt_broker: TestBroker) -> None:
    if not mqtt_broker.supports_restart:
        pytest.skip("external broker")
    assert _roundtrip(mqtt_broker, "apf/t/retained", b"kept", retain=True) == b"kept"
    port = mqtt_broker.port
    mqtt_broker.restart()
    assert mqtt_broker.port == port
    sub_payload = _retained_after_restart(mqtt_broker)
    assert sub_payload == b"kept"


def _retained_after_restart(broker: TestBroker) -> bytes:
    got = threading.Event()
    received: list[bytes] = []
    client = client_for(broker)

    def on_message(_c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        received.append(bytes(msg.payload))
        got.set()

    client.on_message = on_message
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.subscribe("apf/t/retained", qos=1)
        assert got.wait(5), "retained message lost across restart"
    finally:
        client.disconnect()
        client.loop_stop()
    return received[0]


def test_postgres_fixture_gives_an_empty_private_database(postgres_url: str) -> None:
    async def check() -> tuple[str, int]:
        conn = await asyncpg.connect(postgres_url, timeout=10)
        try:
            name = await conn.fetchval("SELECT current_database()")
            tables = await conn.fetchval(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema='public'"
            )
            return str(name), int(tables)
        finally:
            await conn.close()

    name, tables = asyncio.run(check())
    assert name.startswith("apf_test_")
    assert tables == 0
