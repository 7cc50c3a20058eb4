"""Two cloud processes whose bridges share the agents' messages (`$share/cloud/…`): the
browsers of each still get every message of their organization, and each keeps its own
temperature history of every printer."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest

from cloud.live.stream import LIVE_PATH
from shared.enums import PrinterStatus
from tests.cloud.bridge.test_bridge import eventually
from tests.cloud.live.sse import SseReader
from tests.cloud.live.test_feed import publish_state
from tests.cloud.server import clean_env, prepare_in_process
from tests.support.broker import TestBroker
from tests.support.replicas import cloud_replica

PRINTERS = 10
PROBE = "prt_probe"
CONNECT_TIMEOUT_S = 15.0


async def until_streaming(agent: aiomqtt.Client, org_id: str, browser: SseReader) -> None:
    """Publish a probe state until the browser gets one (its replica's feed is subscribed)."""
    deadline = asyncio.get_running_loop().time() + CONNECT_TIMEOUT_S
    while True:
        await publish_state(agent, org_id, PROBE)
        try:
            got = await browser.next_of("state", timeout_s=0.5)
        except TimeoutError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            continue
        if got.json()["printer_id"] == PROBE:
            return


async def test_every_replica_streams_every_message_of_a_shared_group(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    if not mqtt_broker.supports_shared_subscriptions:
        pytest.skip(f"{mqtt_broker.kind} has no shared subscriptions")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    key = await asyncio.to_thread(prepare_in_process, data_dir)
    env = clean_env(
        APF_DATA_DIR=str(data_dir),
        APF_MQTT_URL=mqtt_broker.url,
        APF_MQTT_SHARED_GROUP="cloud",
        APF_SIGNING_KEY="k" * 40,
    )
    headers = {"Authorization": f"Bearer {key}"}
    with (
        cloud_replica(env, tmp_path / "a.log", wait_for_bridge=True) as a,
        cloud_replica(env, tmp_path / "b.log", wait_for_bridge=True) as b,
    ):
        async with (
            httpx.AsyncClient(timeout=10) as http,
            contextlib.AsyncExitStack() as stack,
        ):
            org_id = (await http.get(f"{a.url}/v1/organization", headers=headers)).json()["id"]
            printer = {"name": "p", "connection_url": "http://10.1.1.1", "api_key": "k"}
            made = await http.post(f"{a.url}/v1/printers", json=printer, headers=headers)
            assert made.status_code == 201, made.text
            printer_id = made.json()["id"]
            browsers = []
            for replica in (a, b):
                response = await stack.enter_async_context(
                    http.stream("GET", replica.url + LIVE_PATH, headers=headers)
                )
                browser = SseReader(response)
                assert (await browser.next()).event == "hello"
                browsers.append(browser)
            async with aiomqtt.Client(
                **mqtt_broker.client_kwargs(), identifier="live-agent"
            ) as agent:
                # Each process connects its own feed as it starts: once a probe reaches both
                # browsers, both feeds are subscribed.
                for browser in browsers:
                    await until_streaming(agent, org_id, browser)
                for n in range(PRINTERS):
                    await publish_state(agent, org_id, f"prt_{n}")
                await publish_state(agent, org_id, printer_id)
            for browser in browsers:
                got: list[Any] = []
                while len(got) < PRINTERS:
                    state = (await browser.next_of("state")).json()
                    if state["printer_id"] not in (PROBE, printer_id):  # a probe on its way
                        got.append(state)
                assert [s["printer_id"] for s in got] == [f"prt_{n}" for n in range(PRINTERS)]
                assert {s["data"]["status"] for s in got} == {PrinterStatus.IDLE.value}
            # Each replica recorded the printer's temperatures in its own history.
            for replica in (a, b):
                path = f"{replica.url}/dashboard/api/printers/{printer_id}/temperatures"

                async def recorded(path: str = path) -> bool:
                    samples = (await http.get(path, headers=headers)).json()["samples"]
                    return [s[1:4] for s in samples] == [[22.5, None, 21.0]]

                await eventually(recorded, timeout_s=CONNECT_TIMEOUT_S)
