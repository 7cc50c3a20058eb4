"""The agent's /metrics end to end: a real broker, a simulated serial printer on a pty, and
Prometheus's own parser reading what the agent serves."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest
from msgspec.structs import replace
from prometheus_client.parser import text_string_to_metric_families

from agent.config import AgentConfig, MetricsSettings
from agent.runtime.agent import Agent, StartupError
from agent.sim import SimConfig, SimulatedPrinter
from tests.agent.runtime.cloud import CloudStandIn
from tests.agent.runtime.files_server import serving
from tests.agent.runtime.harness import ORG, agent_config, running_agent, serial_printer
from tests.integration.agent_support import gcode_bytes, gcode_lines, of_type, start_job
from tests.support.broker import TestBroker

pytestmark = pytest.mark.slow

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
POLL_S = 0.05


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    response.raise_for_status()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


async def scrape_until(
    client: httpx.AsyncClient, predicate: Callable[[Samples], bool], timeout_s: float = 20
) -> Samples:
    """Scrape until `predicate` holds; fails with the last scrape after `timeout_s`."""
    last: Samples = {}
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                last = await scrape(client)
                if predicate(last):
                    return last
                await asyncio.sleep(POLL_S)  # polling a condition with a deadline
    except TimeoutError:
        pytest.fail(f"metrics never matched within {timeout_s} s; last scrape: {last}")


def printer(name: str, printer_id: str = "prt_1") -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, (("printer", printer_id),)


def status_is(samples: Samples, status: str, printer_id: str = "prt_1") -> bool:
    key = ("apf_agent_printer_status", (("printer", printer_id), ("status", status)))
    return samples.get(key) == 1


def with_metrics(config: AgentConfig, listen: str = "127.0.0.1:0") -> AgentConfig:
    return replace(config, metrics=MetricsSettings(listen=listen))


def metrics_client(agent: Agent) -> httpx.AsyncClient:
    assert agent.metrics_server is not None
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{agent.metrics_server.port}", timeout=5)


async def test_metrics_follow_a_print_and_a_broker_outage(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    if not mqtt_broker.supports_restart:
        pytest.skip("needs a broker the test can stop and start")
    agent_id = "agt_metrics"
    # 4 ms per move: 3000 moves print for about 12 s, long enough to watch.
    slow = SimConfig(dialect="marlin", baud=250000, move_s_per_block=0.004)
    async with (
        SimulatedPrinter(slow) as sim,
        CloudStandIn(mqtt_broker.url, ORG, agent_id) as cloud,
    ):
        printers = [serial_printer("prt_1", sim.pty_path, 250000)]
        config = with_metrics(
            agent_config(mqtt_broker.url, tmp_path, agent_id=agent_id, printers=printers)
        )
        with serving() as server:
            async with running_agent(config) as agent, metrics_client(agent) as client:
                idle = await scrape_until(client, lambda s: status_is(s, "idle"))
                assert idle[("apf_agent_mqtt_connected", ())] == 1
                assert idle[("process_resident_memory_bytes", ())] > 0
                assert ("process_cpu_seconds_total", ()) in idle
                assert idle[printer("apf_agent_resends_total")] == 0
                assert printer("apf_agent_timeouts_total") in idle

                await cloud.wait_for(lambda: of_type(cloud.unique_events(), "printer.online"))
                data = gcode_bytes(gcode_lines(3000))
                await cloud.command(start_job(server, "s1", "prt_1", "job_1", data))
                assert (await cloud.wait_reply("s1", 30)).ok
                await sim.wait_executed(sim.executed_count + 200, timeout_s=30)
                first = await scrape_until(client, lambda s: status_is(s, "printing"))
                assert not status_is(first, "idle")
                sent = first[printer("apf_agent_lines_sent_total")]
                await sim.wait_executed(sim.executed_count + 200, timeout_s=30)
                later = await scrape(client)
                # 200 more ran; a few of them may have been sent before the first scrape.
                assert later[printer("apf_agent_lines_sent_total")] >= sent + 150

                await asyncio.to_thread(mqtt_broker.stop)
                # While printing, the first telemetry sample of the outage goes to the outbox.
                down = await scrape_until(
                    client,
                    lambda s: (
                        s[("apf_agent_mqtt_connected", ())] == 0
                        and s[("apf_agent_outbox_depth", ())] > 0
                    ),
                )
                age_s = down[("apf_agent_outbox_oldest_age_seconds", ())]
                await scrape_until(
                    client, lambda s: s[("apf_agent_outbox_oldest_age_seconds", ())] > age_s + 0.2
                )

                await asyncio.to_thread(mqtt_broker.start)
                back = await scrape_until(
                    client,
                    lambda s: (
                        s[("apf_agent_mqtt_connected", ())] == 1
                        and s[("apf_agent_outbox_depth", ())] == 0
                    ),
                    timeout_s=60,
                )
                assert back[("apf_agent_outbox_oldest_age_seconds", ())] == 0


def listening_ports() -> set[int]:
    return {
        c.laddr.port
        for c in psutil.Process().net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }


async def test_metrics_are_off_by_default(mqtt_broker: TestBroker, tmp_path: Path) -> None:
    before = listening_ports()
    async with running_agent(agent_config(mqtt_broker.url, tmp_path)) as agent:
        assert agent.metrics_server is None
        assert listening_ports() == before


async def test_the_metrics_server_stops_with_the_agent(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    config = with_metrics(agent_config(mqtt_broker.url, tmp_path))
    async with running_agent(config) as agent, metrics_client(agent) as client:
        port = agent.metrics_server.port if agent.metrics_server else 0
        assert port in listening_ports()
        await scrape(client)
    assert port not in listening_ports()


@pytest.mark.parametrize("listen", ["nonsense", "127.0.0.1:99999"])
async def test_a_bad_listen_address_stops_start_up(
    mqtt_broker: TestBroker, tmp_path: Path, listen: str
) -> None:
    config = with_metrics(agent_config(mqtt_broker.url, tmp_path), listen)
    with pytest.raises(StartupError, match=r"metrics\.listen: expected host:port"):
        await Agent(config).run(asyncio.Event())


async def test_a_port_in_use_stops_start_up_naming_it(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    taken = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = taken.sockets[0].getsockname()[1]
    try:
        config = with_metrics(agent_config(mqtt_broker.url, tmp_path), f"127.0.0.1:{port}")
        with pytest.raises(StartupError, match=rf"metrics\.listen = '127\.0\.0\.1:{port}'"):
            await Agent(config).run(asyncio.Event())
    finally:
        taken.close()
        await taken.wait_closed()
