"""`apf agent run` with an OctoPrint printer, killed mid-print: the job is re-attached.

A real OctoPrint with its virtual printer (scripts/install-octoprint). OctoPrint keeps
printing while the agent is gone; the restarted agent's driver finds the job it started
(through the job memory kept in the agent's store) and the job is reported completed once,
never failed.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from shared.enums import PrinterStatus
from shared.wire import decode_printer_state
from tests.agent.octoprint.conftest import octoprint, octoprint_server  # noqa: F401 (fixtures)
from tests.agent.octoprint.server import OctoPrintServer, write_gcode
from tests.agent.runtime.cloud import CloudStandIn
from tests.agent.runtime.files_server import serving
from tests.integration.agent_support import assert_exactly_once_in_order, of_type, start_job
from tests.integration.test_agent_crash import agent_process
from tests.support.broker import TestBroker

pytestmark = [pytest.mark.octoprint, pytest.mark.slow]

ORG, AGENT = "org_t", "agt_octo"


def write_config(path: Path, broker_url: str, data_dir: Path, server: OctoPrintServer) -> None:
    path.write_text(
        f'agent_id = "{AGENT}"\norg_id = "{ORG}"\ndata_dir = "{data_dir}"\n'
        'log_level = "INFO"\n\n'
        f'[mqtt]\nurl = "{broker_url}"\n\n'
        '[[printers]]\nprinter_id = "prt_o"\nname = "OctoPrint"\n'
        f'connection = {{ kind = "octoprint", url = "{server.url}", '
        f'api_key = "{server.api_key}" }}\n'
    )


def state_is(cloud: CloudStandIn, status: PrinterStatus) -> bool:
    states = cloud.on("printers/prt_o/state")
    return bool(states) and decode_printer_state(states[-1].payload).status is status


async def test_agent_killed_mid_print_reattaches_to_the_octoprint_job(
    mqtt_broker: TestBroker,
    octoprint: OctoPrintServer,  # noqa: F811 (the fixture)
    tmp_path: Path,
) -> None:
    config, log = tmp_path / "agent.toml", tmp_path / "agent.log"
    write_config(config, mqtt_broker.url, tmp_path / "data", octoprint)
    data = write_gcode(tmp_path / "job.gcode", duration_s=8.0).read_bytes()
    async with CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud:
        with serving() as server:
            with agent_process(config, log) as first:
                await cloud.wait_for(lambda: state_is(cloud, PrinterStatus.IDLE), 60)
                await cloud.command(start_job(server, "s1", "prt_o", "job_o", data))
                assert (await cloud.wait_reply("s1", 60)).ok, log.read_text()
                await cloud.wait_for(lambda: of_type(cloud.unique_events(), "job.started"), 30)
                os.kill(first.pid, signal.SIGKILL)
                await asyncio.to_thread(first.wait, 10)
            assert octoprint.state_text() in ("Starting", "Printing")
            with agent_process(config, log) as second:
                await cloud.wait_for(lambda: of_type(cloud.unique_events(), "job.completed"), 60)
                await cloud.wait_for(lambda: state_is(cloud, PrinterStatus.IDLE), 30)
                second.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(second.wait, 30) == 0
    unique = assert_exactly_once_in_order(cloud)
    assert len(of_type(unique, "job.started")) == 1
    assert len(of_type(unique, "job.completed")) == 1, log.read_text()
    assert not of_type(unique, "job.failed")
    text = log.read_text()
    assert "Traceback" not in text
    assert octoprint.api_key not in text  # a secret never reaches the log
