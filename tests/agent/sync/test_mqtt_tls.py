"""mqtts:// with a private CA and a username/password, against a real Mosquitto over TLS."""

from __future__ import annotations

import asyncio
import getpass
import logging
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from shared.wire import decode_agent_status, status_topic
from tests.agent.runtime.harness import ORG, running_agent
from tests.support.ports import free_port, wait_for_listener
from tests.support.tls import TestCA

AGENT = "agt_tls"

pytestmark = pytest.mark.mosquitto


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    if not (shutil.which("mosquitto") and shutil.which("openssl")):
        pytest.skip("needs mosquitto and openssl")
    ca = TestCA(tmp_path)
    cert, key = ca.server_cert("127.0.0.1")
    passwd = tmp_path / "passwd"
    passwd.write_text("agt_tls:s3cret-pw\n")
    subprocess.run(["mosquitto_passwd", "-U", str(passwd)], check=True, timeout=30)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        f"certfile {cert}\nkeyfile {key}\n"
        f"allow_anonymous false\npassword_file {passwd}\n"
        # As root Mosquitto would drop to its own user and could not read our temp files.
        f"user {getpass.getuser()}\n"
    )
    proc = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_listener("127.0.0.1", port, 15, alive=proc)
        yield port, ca.cert
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_the_agent_connects_over_tls_with_credentials(
    tls_broker: tuple[int, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from agent.config import AgentConfig, MqttSettings

    port, ca = tls_broker
    password_file = tmp_path / "mqtt-password"
    password_file.write_text("s3cret-pw\n")

    def config(password: Path) -> AgentConfig:
        return AgentConfig(
            agent_id=AGENT,
            org_id=ORG,
            data_dir=str(tmp_path / "data"),
            mqtt=MqttSettings(
                url=f"mqtts://127.0.0.1:{port}",
                username="agt_tls",
                password_file=str(password),
                ca_file=str(ca),
            ),
        )

    async with running_agent(config(password_file)):
        context = ssl.create_default_context(cafile=str(ca))
        async with aiomqtt.Client(
            "127.0.0.1", port, username="agt_tls", password="s3cret-pw", tls_context=context
        ) as watcher:
            await watcher.subscribe(status_topic(ORG, AGENT), qos=1)
            async with asyncio.timeout(10):
                message = await anext(aiter(watcher.messages))
            assert isinstance(message.payload, bytes)
            assert decode_agent_status(message.payload).state == "online"

    wrong = tmp_path / "wrong"
    wrong.write_text("nope\n")
    refused = asyncio.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "is down" in record.getMessage():
                refused.set()

    handler = Watch()
    logging.getLogger("agent.sync.mqtt").addHandler(handler)
    try:
        async with running_agent(config(wrong), connected=False) as agent:
            # Refused by the broker: the agent keeps running and retrying, and says why.
            async with asyncio.timeout(10):
                await refused.wait()
            assert not agent.link.connected.is_set()
    finally:
        logging.getLogger("agent.sync.mqtt").removeHandler(handler)
    assert "s3cret-pw" not in caplog.text and "nope" not in caplog.text
