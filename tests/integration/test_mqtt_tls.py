"""mqtts:// end to end, on Mosquitto and on the embedded broker: a test CA made here, every
listener TLS only; the cloud and a real agent verify the broker's certificate, and a
certificate signed by another CA is refused with an error that says what to set."""

from __future__ import annotations

import asyncio
import logging
import shutil
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
import httpx
import pytest

from agent.config import AgentConfig, MqttSettings
from apf.demo.runner import free_port, serve_cloud
from cloud.bridge.mqtt import LinkSettings, MqttLink
from shared.wire import decode_agent_status, status_topic
from tests.agent.runtime.harness import running_agent
from tests.support.broker import BrokerOptions, TestBroker, make_broker
from tests.support.tls import TestCA

KINDS = ["mosquitto", "embedded"] if shutil.which("mosquitto") else ["embedded"]


@pytest.fixture(params=KINDS)
def tls_broker(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[TestBroker, TestCA]]:
    ca = TestCA(tmp_path / "ca")
    cert, key = ca.server_cert("127.0.0.1")
    (tmp_path / "broker").mkdir()
    broker = make_broker(
        tmp_path / "broker", BrokerOptions(tls_files=(cert, key)), kind=request.param
    )
    broker.start()
    try:
        yield broker, ca
    finally:
        broker.stop()


async def login_accepted(mqtt: dict[str, Any], context: ssl.SSLContext, within_s: float) -> None:
    """Until the broker takes the registered login over verified TLS (a bounded poll: no
    message says when the cloud's pending change reached the broker)."""
    url = urlsplit(mqtt["url"])
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        try:
            async with aiomqtt.Client(
                url.hostname or "127.0.0.1",
                url.port or 8883,
                username=mqtt["username"],
                password=mqtt["password"],
                identifier=mqtt["client_id"],
                tls_context=context,
            ):
                return
        except aiomqtt.MqttError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_the_cloud_and_an_agent_connect_over_verified_tls(
    tls_broker: tuple[TestBroker, TestCA], tmp_path: Path
) -> None:
    broker, ca = tls_broker
    assert broker.url.startswith("mqtts://")
    async with (
        serve_cloud(
            tmp_path / "cloud",
            free_port(),
            broker.url,
            broker.agent_port,
            mqtt_ca_file=str(ca.cert),
        ) as cloud,
        httpx.AsyncClient(
            base_url=cloud.base_url, headers={"Authorization": f"Bearer {cloud.api_key}"}
        ) as api,
    ):
        registered = (await api.post("/v1/agents", json={"name": "tls-pi"})).json()
        mqtt = registered["mqtt"]
        assert mqtt["url"].startswith("mqtts://")
        context = ssl.create_default_context(cafile=str(ca.cert))
        if not mqtt["provisioned"]:
            # The request waits 4 s for the broker to follow; on a loaded machine the cloud's
            # first TLS login (and the broker's disconnect after granting its role) can take
            # longer, and the login is then made as soon as the cloud can administer it.
            await login_accepted(mqtt, context, within_s=30)
        org_id, agent_id = (await api.get("/v1/organization")).json()["id"], mqtt["client_id"]
        config = AgentConfig(
            agent_id=agent_id,
            org_id=org_id,
            data_dir=str(tmp_path / "agent"),
            mqtt=MqttSettings(
                url=mqtt["url"],
                username=mqtt["username"],
                password=mqtt["password"],
                ca_file=str(ca.cert),
            ),
        )
        async with (
            running_agent(config),
            aiomqtt.Client(**broker.client_kwargs(), tls_context=context) as watcher,
        ):
            await watcher.subscribe(status_topic(org_id, agent_id), qos=1)
            async with asyncio.timeout(10):
                message = await anext(aiter(watcher.messages))
            assert isinstance(message.payload, bytes)
            assert decode_agent_status(message.payload).state == "online"


async def test_a_certificate_from_another_ca_is_refused_with_a_clear_error(
    tls_broker: tuple[TestBroker, TestCA], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker, _ = tls_broker
    stranger = TestCA(tmp_path / "stranger", name="not-the-brokers-ca")
    said = asyncio.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "not trusted" in record.getMessage():
                said.set()

    async def ignore(topic: str, payload: bytes) -> None:
        return None

    handler = Watch()
    logging.getLogger("cloud.bridge.mqtt").addHandler(handler)
    link = MqttLink(
        LinkSettings(url=broker.url, client_id="tls-check", ca_file=str(stranger.cert)),
        subscriptions=[],
        handler=ignore,
    )
    task = asyncio.create_task(link.run())
    try:
        async with asyncio.timeout(10):
            await said.wait()
        assert not link.connected
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        logging.getLogger("cloud.bridge.mqtt").removeHandler(handler)
    assert "APF_MQTT_CA_FILE" in caplog.text and "CERTIFICATE_VERIFY_FAILED" in caplog.text
    assert broker.password and broker.password not in caplog.text
