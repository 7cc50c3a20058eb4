"""`apf agent run` killed with SIGKILL mid-print, then started again."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agent.sim import SimConfig, SimulatedPrinter
from shared.enums import PrinterStatus
from shared.wire import AgentStatus, JobFailedEvent, decode_agent_status, decode_printer_state
from tests.agent.runtime.cloud import CloudStandIn
from tests.agent.runtime.files_server import serving
from tests.integration.agent_support import (
    assert_exactly_once_in_order,
    gcode_bytes,
    gcode_lines,
    of_type,
    start_job,
)
from tests.support.broker import TestBroker

pytestmark = pytest.mark.slow

ORG, AGENT = "org_t", "agt_crash"


def write_config(path: Path, broker_url: str, data_dir: Path, port: str) -> None:
    path.write_text(
        f'agent_id = "{AGENT}"\norg_id = "{ORG}"\ndata_dir = "{data_dir}"\n'
        'log_level = "INFO"\n\n'
        f'[mqtt]\nurl = "{broker_url}"\n\n'
        '[[printers]]\nprinter_id = "prt_1"\nname = "Sim"\n'
        f'connection = {{ kind = "serial", port = "{port}", baud = 250000 }}\n'
    )


@contextmanager
def agent_process(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    repo = Path(__file__).resolve().parents[2]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "apf", "agent", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=repo,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def statuses(cloud: CloudStandIn) -> list[AgentStatus]:
    return [decode_agent_status(m.payload) for m in cloud.on("status") if m.payload]


def retained_state_idle(cloud: CloudStandIn, after: int) -> bool:
    states = cloud.on("printers/prt_1/state")[after:]
    if not states:
        return False
    state = decode_printer_state(states[-1].payload)
    return state.status is PrinterStatus.IDLE and state.connected and state.job is None


async def test_sigkill_mid_print_then_restart_reports_the_job_failed_once(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    config = tmp_path / "agent.toml"
    log = tmp_path / "agent.log"
    lines = gcode_lines(3000)
    sim_config = SimConfig(dialect="marlin", baud=250000, move_s_per_block=0.004)
    async with (
        SimulatedPrinter(sim_config) as sim,
        CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud,
    ):
        write_config(config, mqtt_broker.url, data_dir, sim.pty_path)
        with serving() as server:
            with agent_process(config, log) as first:
                await cloud.wait_for(lambda: of_type(cloud.unique_events(), "printer.online"))
                await cloud.command(start_job(server, "s1", "prt_1", "job_1", gcode_bytes(lines)))
                assert (await cloud.wait_reply("s1", 30)).ok
                await cloud.wait_for(lambda: of_type(cloud.unique_events(), "job.started"))
                await sim.wait_executed(sim.executed_count + 500, timeout_s=30)
                os.kill(first.pid, signal.SIGKILL)
                await asyncio.to_thread(first.wait, 10)
            killed_at = len(sim.executed)
            # The broker publishes the Will: offline, carrying the dead connection's session.
            await cloud.wait_for(
                lambda: any(s.state == "offline" and s.session == 1 for s in statuses(cloud))
            )
            states_before = len(cloud.on("printers/prt_1/state"))
            with agent_process(config, log) as second:
                await cloud.wait_for(lambda: of_type(cloud.unique_events(), "job.failed"), 30)
                await cloud.wait_for(lambda: retained_state_idle(cloud, states_before), 30)
                await cloud.wait_for(
                    lambda: any(s.state == "online" and s.session == 2 for s in statuses(cloud))
                )
                # Heaters off once the printer is back (the interrupted job left them on).
                await cloud.wait_for(lambda: "M140 S0" in sim.executed[killed_at:], 30)
                second.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(second.wait, 30) == 0
            await cloud.wait_for(
                lambda: any(s.state == "offline" and s.session == 2 for s in statuses(cloud))
            )
    unique = assert_exactly_once_in_order(cloud)
    failed = of_type(unique, "job.failed")
    assert len(failed) == 1, log.read_text()
    assert isinstance(failed[0], JobFailedEvent)
    assert failed[0].job_id == "job_1" and "agent restarted" in failed[0].reason
    assert len(of_type(unique, "job.started")) == 1
    assert not of_type(unique, "job.completed")
    with sqlite3.connect(data_dir / "agent.db") as db:
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM jobs").fetchone() == (0,)
    text = log.read_text()
    assert "Traceback" not in text
