"""A printer's secret reaches its agent and nobody else, during a farm's ordinary work.

A farm runs (cloud, the real agent, a simulated printer) and prints a job; an OctoPrint
printer with an API key is registered on the same agent. A dashboard login listens to
everything it is allowed to, and every payload it receives is scanned for the key and the
MQTT passwords. The key must reach the agent (on its config topic, read here with the
administrator's login), and appear nowhere else: not in what the dashboard receives, not
in API answers, not in the log, not in the cloud's database file.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiomqtt
import pytest

from apf.demo.samples import SampleJob, sample_gcode
from shared.enums import Priority
from tests.integration.farm import PrinterSpec, running_farm
from tests.support.broker import TestBroker
from tests.support.ports import free_port

pytestmark = pytest.mark.slow

SECRET = "OCTO-KEY-d41d8cd98f00b204e9800998ecf8427e"


async def test_no_secret_on_anything_a_dashboard_or_an_api_caller_reads(
    secured_broker: TestBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = secured_broker
    specs = [PrinterSpec("m1", "marlin", "PLA", "Black")]
    async with running_farm(broker, tmp_path, specs) as farm:
        dash = await farm.json("POST", "/v1/mqtt-credentials", json={"name": "wall"})
        received: list[bytes] = []
        seen_printers: set[str] = set()
        subscribed = asyncio.Event()

        async def listen() -> None:
            async with aiomqtt.Client(
                broker.host,
                broker.agent_port,
                username=dash["username"],
                password=dash["password"],
                identifier=dash["username"],
            ) as client:
                for topic_filter in dash["topics"]:
                    await client.subscribe(topic_filter, qos=1)
                subscribed.set()
                async for message in client.messages:
                    assert isinstance(message.payload, bytes)
                    received.append(message.payload)
                    parts = message.topic.value.split("/")
                    if len(parts) == 7 and parts[4] == "printers":
                        seen_printers.add(parts[5])

        listener = asyncio.create_task(listen())
        try:
            await asyncio.wait_for(subscribed.wait(), 10)
            octo = await farm.json(
                "POST",
                "/v1/printers",
                json={
                    "name": "octo",
                    "agent_id": farm.agent_id,
                    "connection_url": f"http://127.0.0.1:{free_port()}",
                    "api_key": SECRET,
                },
            )
            name = "part"
            await farm.json(
                "POST",
                "/v1/jobs",
                files={
                    "file": ("part.gcode", sample_gcode(SampleJob(name, "PLA", Priority.NORMAL, 2)))
                },
                data={"name": name, "material": "PLA"},
            )

            async def job_done() -> bool:
                jobs = (await farm.json("GET", "/v1/jobs"))["data"]
                return bool(jobs) and all(j["status"] == "completed" for j in jobs)

            await farm.wait_for(job_done, 90, "the job to complete")
            await farm.wait_for(
                _true_when(lambda: {octo["id"], farm.printers["m1"]} <= seen_printers),
                30,
                "both printers' states on the dashboard",
            )

            config = await _retained_config(broker, farm.org_id, farm.agent_id)
            assert SECRET.encode() in config  # it did go to the agent, on its own topic
            for path in ("/v1/printers", f"/v1/printers/{octo['id']}"):
                response = await farm.api.get(path)
                assert SECRET not in response.text and '"has_api_key":true' in response.text
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
    assert len(received) > 10
    registration_password = farm._mqtt.password if farm._mqtt else None
    for payload in received:
        assert SECRET.encode() not in payload
        assert dash["password"].encode() not in payload
        assert registration_password is None or registration_password.encode() not in payload
    assert SECRET not in caplog.text
    for db_file in (tmp_path / "cloud").glob("apf.sqlite3*"):
        assert SECRET.encode() not in db_file.read_bytes(), db_file.name


def _true_when(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def poll() -> bool:
        return check()

    return poll


async def _retained_config(broker: TestBroker, org_id: str, agent_id: str) -> bytes:
    async with aiomqtt.Client(**broker.client_kwargs()) as admin:
        await admin.subscribe(f"apf/{org_id}/agents/{agent_id}/config", qos=1)
        async with asyncio.timeout(10):
            message = await anext(aiter(admin.messages))
    assert isinstance(message.payload, bytes)
    return message.payload
