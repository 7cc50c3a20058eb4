"""What the agent publishes: retained state with a heartbeat, telemetry coalesced to about
1 Hz, and telemetry samples kept in the outbox while the broker is away."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from agent.runtime.agent import Agent
from agent.sim import SimConfig, SimulatedPrinter
from agent.sync.outbox import RowKind
from shared.enums import PrinterStatus
from shared.wire import decode_printer_state, decode_telemetry
from tests.agent.runtime.cloud import CloudStandIn
from tests.agent.runtime.harness import ORG, agent_config, running_agent, serial_printer
from tests.support.broker import TestBroker

AGENT = "agt_pub"


async def wait_outbox_holds(agent: Agent, kind: RowKind, timeout_s: float = 30) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            agent.outbox.added.clear()
            if await agent.outbox.count(kind) > 0:
                return
            await agent.outbox.added.wait()


async def test_state_is_retained_and_refreshed_by_a_heartbeat(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    async with SimulatedPrinter(SimConfig(dialect="marlin", baud=None)) as sim:
        config = agent_config(
            mqtt_broker.url,
            tmp_path,
            agent_id=AGENT,
            printers=[serial_printer("prt_1", sim.pty_path)],
            heartbeat_s=0.5,
        )
        async with running_agent(config):
            async with CloudStandIn(mqtt_broker.url, ORG, AGENT) as watcher:
                await watcher.wait_for(lambda: len(watcher.on("printers/prt_1/state")) >= 4)
                states = [
                    decode_printer_state(m.payload) for m in watcher.on("printers/prt_1/state")
                ]
                assert states[-1].status is PrinterStatus.IDLE and states[-1].connected
                assert states[-1].firmware is not None and "Marlin" in states[-1].firmware
                assert len({s.ts for s in states}) == len(states)  # each a fresh snapshot
            # A dashboard that subscribes now gets the state from the broker at once.
            async with CloudStandIn(mqtt_broker.url, ORG, AGENT) as late:
                await late.wait_for(lambda: late.on("printers/prt_1/state"))
                assert late.on("printers/prt_1/state")[0].retain


async def test_telemetry_is_coalesced_and_sampled_into_the_outbox_while_offline(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    if not mqtt_broker.supports_restart:
        pytest.skip("needs a broker the test can stop")
    # Heaters moving all the time: the driver reports far more often than 1 Hz.
    async with SimulatedPrinter(
        SimConfig(dialect="marlin", baud=None, heat_rate_c_per_s=1.0)
    ) as sim:
        config = agent_config(
            mqtt_broker.url,
            tmp_path,
            agent_id=AGENT,
            printers=[serial_printer("prt_1", sim.pty_path)],
        )
        async with (
            CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud,
            running_agent(config) as agent,
        ):
            await cloud.wait_for(lambda: cloud.on("events"))
            from tests.agent.runtime.cloud import gcode

            await cloud.command(gcode("heat", "prt_1", ["M104 S200", "M140 S60"]))
            assert (await cloud.wait_reply("heat")).ok
            await cloud.wait_for(lambda: len(cloud.on("printers/prt_1/telemetry")) >= 4)
            samples = [decode_telemetry(m.payload) for m in cloud.on("printers/prt_1/telemetry")]
            gaps = [(b.ts - a.ts).total_seconds() for a, b in itertools.pairwise(samples)]
            assert min(gaps) >= 0.9, gaps
            assert samples[-1].temperatures.hotend_target == 200.0

            await asyncio.to_thread(mqtt_broker.stop)
            await wait_outbox_holds(agent, RowKind.TELEMETRY)
            before = len(cloud.on("printers/prt_1/telemetry"))
            await asyncio.to_thread(mqtt_broker.start)
            # The sample taken while offline is delivered after the reconnect.
            await cloud.wait_for(lambda: len(cloud.on("printers/prt_1/telemetry")) > before, 30)
