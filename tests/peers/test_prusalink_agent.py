"""`apf agent run` with a Prusa printer through PrusaLink, over a real broker, against
Prusa's PrusaLink 0.8.1 on our simulated MK3S (tests/peers/conftest.py). PrusaLink feeds the
printer itself: the agent is killed mid-print, the restarted agent re-attaches to the job,
and it is reported completed exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from shared.enums import PrinterStatus
from tests.agent.runtime.cloud import CloudStandIn
from tests.agent.runtime.files_server import serving
from tests.integration.agent_support import assert_exactly_once_in_order, of_type, start_job
from tests.integration.test_agent_crash import agent_process
from tests.peers.agent_support import ORG, state_is, write_agent_config
from tests.support.broker import TestBroker
from tests.support.prusalink_peer import PASSWORD, USER, PrusaLinkPeer, dwell_gcode

AGENT, PRINTER = "agt_prusa", "prt_p"


async def test_agent_killed_mid_print_reattaches_to_the_prusalink_job(
    mqtt_broker: TestBroker, prusalink: PrusaLinkPeer, tmp_path: Path
) -> None:
    config, log = tmp_path / "agent.toml", tmp_path / "agent.log"
    connection = (
        f'{{ kind = "prusalink", url = "{prusalink.url}", username = "{USER}", '
        f'password = "{PASSWORD}" }}'
    )
    write_agent_config(
        config,
        broker_url=mqtt_broker.url,
        data_dir=tmp_path / "data",
        agent_id=AGENT,
        printer_id=PRINTER,
        connection=connection,
    )
    data = dwell_gcode(12).encode()
    async with CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud:
        with serving() as server:
            with agent_process(config, log) as first:
                await cloud.wait_for(lambda: state_is(cloud, PRINTER, PrinterStatus.IDLE), 90)
                await cloud.command(start_job(server, "s1", PRINTER, "job_p", data))
                assert (await cloud.wait_reply("s1", 60)).ok, log.read_text()
                await cloud.wait_for(lambda: of_type(cloud.unique_events(), "job.started"), 30)
                os.kill(first.pid, signal.SIGKILL)
                await asyncio.to_thread(first.wait, 10)
            assert prusalink.state() == "PRINTING"
            with agent_process(config, log) as second:
                await cloud.wait_for(lambda: of_type(cloud.unique_events(), "job.completed"), 90)
                await cloud.wait_for(lambda: state_is(cloud, PRINTER, PrinterStatus.IDLE), 60)
                second.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(second.wait, 30) == 0
    unique = assert_exactly_once_in_order(cloud)
    assert len(of_type(unique, "job.started")) == 1
    assert len(of_type(unique, "job.completed")) == 1, log.read_text()
    assert not of_type(unique, "job.failed")
    text = log.read_text()
    assert "Traceback" not in text
    assert PASSWORD not in text  # a secret never reaches the log
