"""`GET /dashboard/api/live` end to end: a real broker, the app on a real uvicorn with its
bridge and live feed, an agent publishing as agents do, and a streaming HTTP client."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest

from cloud.live.history import TemperatureHistory
from cloud.live.hub import LiveHub
from cloud.live.stream import HUB_STATE_KEY, LIVE_PATH
from cloud.live.temperatures import HISTORY_STATE_KEY
from cloud.orchestration.db import writing
from cloud.services.admin import add_api_key
from cloud.settings import Settings
from shared import wire
from shared.enums import AgentState, PrinterStatus
from tests.cloud.bridge.agent_double import AgentDouble, agent_double
from tests.cloud.bridge.test_bridge import eventually
from tests.cloud.conftest import SQLITE_ONLY
from tests.cloud.live.server import LiveServer, live_server
from tests.cloud.live.sse import SseReader
from tests.support.broker import TestBroker

log = logging.getLogger(__name__)

# The goal: an agent's message reaches the browser within this long.
LATENCY_BUDGET_S = 1.0
# The process connects its feed when it starts; allow for a slow machine.
CONNECT_TIMEOUT_S = 15.0

pytestmark = SQLITE_ONLY


@pytest.fixture(autouse=True)
def _latency_log(caplog: pytest.LogCaptureFixture) -> None:
    """The measured latencies are logged at INFO: shown by `pytest -rP`."""
    caplog.set_level(logging.INFO, logger=__name__)


async def register(http: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, str]:
    """An agent and a printer on it, through the API: their ids."""
    r = await http.post("/v1/agents", json={"name": "pi-1"}, headers=headers)
    assert r.status_code == 201, r.text
    agent_id = r.json()["agent"]["id"]
    printer = {
        "name": "mk4-1",
        "connection_url": "serial:///dev/ttyACM0?baud=115200&profile=prusa",
        "agent_id": agent_id,
    }
    r = await http.post("/v1/printers", json=printer, headers=headers)
    assert r.status_code == 201, r.text
    return agent_id, r.json()["id"]


@contextlib.asynccontextmanager
async def live_stream(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> AsyncIterator[tuple[httpx.Response, SseReader]]:
    async with http.stream("GET", LIVE_PATH, headers=headers) as response:
        yield response, SseReader(response)


async def feed_records(server: LiveServer, agent: AgentDouble, printer_id: str) -> None:
    """Wait until the process's feed is connected, with no browser watching: it records the
    printer's temperatures from a state (retained, so a feed still connecting gets it too)."""
    history: TemperatureHistory = server.app.state[HISTORY_STATE_KEY]
    await agent.state(printer_id, PrinterStatus.IDLE)

    async def recorded() -> bool:
        return bool(history.samples(agent.org_id, printer_id, 0))

    await eventually(recorded, timeout_s=CONNECT_TIMEOUT_S)


async def hub_holds(server: LiveServer, count: int) -> None:
    async def check() -> bool:
        return len(server.hub) == count

    await eventually(check, timeout_s=10)


async def test_agent_messages_reach_only_their_organizations_browsers_within_a_second(
    settings: Settings, mqtt_broker: TestBroker
) -> None:
    settings = msgspec.structs.replace(settings, mqtt_url=mqtt_broker.url)
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=10) as http,
    ):
        acme, rival = server.orgs["acme"], server.orgs["rival"]
        agent_id, printer_id = await register(http, server.auth("acme"))
        rival_agent, rival_printer = await register(http, server.auth("rival"))
        async with agent_double(mqtt_broker, acme.org_id, agent_id) as agent:
            await feed_records(server, agent, printer_id)
        # The temperatures it recorded, for the organization's browsers only.
        path = f"/dashboard/api/printers/{printer_id}/temperatures"
        recorded = await http.get(path, headers=server.auth("acme"))
        assert recorded.status_code == 200, recorded.text
        assert recorded.json()["samples"][0][1:4] == [210.0, None, 60.0]
        assert (await http.get(path, headers=server.auth("rival"))).status_code == 404
        async with live_stream(http, server.auth("acme")) as (response, browser):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-store"
            assert response.headers["x-accel-buffering"] == "no"
            assert "ratelimit" not in response.headers  # spends none of the budget
            hello = await browser.next()
            assert (hello.event, hello.retry) == ("hello", 3000)
            assert hello.json() == {"kind": "hello", "org_id": acme.org_id, "live": True}

            async with (
                live_stream(http, server.auth("rival")) as (_, rival_browser),
                agent_double(mqtt_broker, acme.org_id, agent_id) as agent,
                agent_double(mqtt_broker, rival.org_id, rival_agent) as rival_double,
            ):
                assert (await rival_browser.next()).event == "hello"
                latencies_s = []
                last_id = 0
                for status in [PrinterStatus.IDLE, PrinterStatus.BUSY] * 3:
                    sent = time.perf_counter()
                    await agent.state(printer_id, status)
                    got = await browser.next_of("state", timeout_s=LATENCY_BUDGET_S)
                    latencies_s.append(got.received_at - sent)
                    body = got.json()
                    assert (body["agent_id"], body["printer_id"]) == (agent_id, printer_id)
                    assert body["data"]["status"] == status.value
                    assert int(got.id or 0) > last_id  # ids grow within the process
                    last_id = int(got.id or 0)
                log.info(
                    "live latency, MQTT publish to SSE receipt: %s ms",
                    ", ".join(f"{s * 1000:.1f}" for s in latencies_s),
                )
                assert max(latencies_s) < LATENCY_BUDGET_S

                await agent.telemetry(printer_id, "job_1", 42.0)
                telemetry = await browser.next()
                assert telemetry.event == "telemetry"
                assert telemetry.json()["data"]["job"]["progress"] == 42.0
                await agent.send_event(
                    agent.next_event(wire.PrinterErrorEvent, printer_id, message="thermal")
                )
                printer_event = await browser.next()
                assert printer_event.event == "event"
                assert printer_event.json()["data"]["type"] == "printer.error"
                await agent.status(AgentState.ONLINE, session=1)
                status_event = await browser.next()
                assert status_event.event == "agent"
                assert (status_event.json()["agent_id"], status_event.json()["online"]) == (
                    agent_id,
                    True,
                )

                # The feed forwards in arrival order: had the rival's browser been sent any
                # of acme's items, they would come before the rival's own state.
                await rival_double.state(rival_printer, PrinterStatus.IDLE)
                theirs = await rival_browser.next()
                assert theirs.event == "state"
                assert theirs.json()["printer_id"] == rival_printer
                assert rival_browser.comments == []
            # The rival's browser went: its subscription is dropped.
            await hub_holds(server, 1)
        await hub_holds(server, 0)


async def test_a_key_out_of_rate_limit_still_holds_the_stream_and_gets_every_item(
    settings: Settings, mqtt_broker: TestBroker
) -> None:
    settings = msgspec.structs.replace(settings, mqtt_url=mqtt_broker.url, rate_limit_per_minute=3)
    async with (
        live_server(settings, ["acme"]) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=10) as http,
    ):
        acme = server.orgs["acme"]
        agent_id, printer_id = await register(http, server.auth("acme"))  # 2 of 3
        assert (await http.get("/v1/printers", headers=server.auth("acme"))).status_code == 200
        spent = await http.get("/v1/printers", headers=server.auth("acme"))
        assert spent.status_code == 429

        async with agent_double(mqtt_broker, acme.org_id, agent_id) as agent:
            await feed_records(server, agent, printer_id)
        async with (
            live_stream(http, server.auth("acme")) as (response, browser),
            agent_double(mqtt_broker, acme.org_id, agent_id) as agent,
        ):
            assert response.status_code == 200
            assert (await browser.next()).event == "hello"
            for n in range(30):
                await agent.telemetry(printer_id, "job_1", float(n))
                got = await browser.next_of("telemetry", timeout_s=LATENCY_BUDGET_S)
                assert got.json()["data"]["job"]["progress"] == float(n)
            # Reconnecting (what EventSource does after a drop) is not refused either.
            async with live_stream(http, server.auth("acme")) as (again, second):
                assert again.status_code == 200
                assert (await second.next()).event == "hello"
        still = await http.get("/v1/printers", headers=server.auth("acme"))
        assert still.status_code == 429


async def test_without_a_broker_the_stream_says_so_and_the_caller_is_checked(
    settings: Settings,
) -> None:
    async with (
        live_server(settings, ["acme"]) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=10) as http,
    ):
        acme = server.orgs["acme"]
        server.app.state[HUB_STATE_KEY] = LiveHub(streams_per_org=1)
        async with live_stream(http, server.auth("acme")) as (response, browser):
            assert response.status_code == 200
            hello = await browser.next()
            assert hello.json() == {"kind": "hello", "org_id": acme.org_id, "live": False}
            # One stream per organization in this test: a second is refused, and says when
            # to come back.
            refused = await http.get(LIVE_PATH, headers=server.auth("acme"))
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "rate_limit_exceeded"
            assert refused.headers["retry-after"] == "30"
        await hub_holds(server, 0)

        assert (await http.get(LIVE_PATH)).status_code == 401
        async with writing(server.app.state["ctx"]) as session:
            jobs_only = await add_api_key(session, acme, name="jobs", scopes=["jobs:read"])
        denied = await http.get(LIVE_PATH, headers={"Authorization": f"Bearer {jobs_only}"})
        assert denied.status_code == 403
        assert len(server.hub) == 0
