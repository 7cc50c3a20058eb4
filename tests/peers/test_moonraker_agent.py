"""`apf agent run` with a Klipper printer through Moonraker, over a real broker, against a
real Klipper and Moonraker (tests/peers/conftest.py). The agent is killed mid-print: Klipper
prints on, the restarted agent re-attaches, and the job is reported completed exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from shared.enums import PrinterStatus
from shared.wire import decode_printer_state, decode_telemetry
from tests.agent.runtime.cloud import CloudStandIn
from tests.agent.runtime.files_server import serving
from tests.integration.agent_support import assert_exactly_once_in_order, of_type, start_job
from tests.integration.test_agent_crash import agent_process
from tests.peers.agent_support import ORG, state_is, write_agent_config
from tests.support.broker import TestBroker
from tests.support.klipper_stack import KlipperStack, moves_gcode

AGENT, PRINTER = "agt_klip", "prt_k"


async def test_agent_killed_mid_print_reattaches_to_the_klipper_job(
    mqtt_broker: TestBroker, klipper: KlipperStack, tmp_path: Path
) -> None:
    config, log = tmp_path / "agent.toml", tmp_path / "agent.log"
    connection = f'{{ kind = "moonraker", url = "{klipper.url}", api_key = "{klipper.api_key}" }}'
    write_agent_config(
        config,
        broker_url=mqtt_broker.url,
        data_dir=tmp_path / "data",
        agent_id=AGENT,
        printer_id=PRINTER,
        connection=connection,
    )
    data = moves_gcode(10).encode()
    async with CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud:
        with serving() as server:
            with agent_process(config, log) as first:
                await cloud.wait_for(lambda: state_is(cloud, PRINTER, PrinterStatus.IDLE), 60)
                await cloud.command(start_job(server, "s1", PRINTER, "job_k", data))
                assert (await cloud.wait_reply("s1", 60)).ok, log.read_text()
                await cloud.wait_for(lambda: of_type(cloud.unique_events(), "job.started"), 30)
                os.kill(first.pid, signal.SIGKILL)
                await asyncio.to_thread(first.wait, 10)
            assert klipper.print_state()[0] == "printing"
            with agent_process(config, log) as second:
                await cloud.wait_for(lambda: of_type(cloud.unique_events(), "job.completed"), 60)
                await cloud.wait_for(lambda: state_is(cloud, PRINTER, PrinterStatus.IDLE), 30)
                second.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(second.wait, 30) == 0
    unique = assert_exactly_once_in_order(cloud)
    assert len(of_type(unique, "job.started")) == 1
    assert len(of_type(unique, "job.completed")) == 1, log.read_text()
    assert not of_type(unique, "job.failed")
    state = decode_printer_state(cloud.on(f"printers/{PRINTER}/state")[-1].payload)
    assert state.firmware is not None and state.firmware.startswith("Klipper v0.13.0")
    # Klipper's one sensor here reaches the MQTT contract under its own name.
    telemetry = [decode_telemetry(m.payload) for m in cloud.on(f"printers/{PRINTER}/telemetry")]
    assert any(
        t.temperatures.sensors.get("temperature_sensor host_file") == [25.0, None]
        for t in telemetry
    )
    text = log.read_text()
    assert "Traceback" not in text
    assert klipper.api_key not in text  # a secret never reaches the log
