"""The agent end to end: real broker, simulated printers on ptys, G-code over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.config import AgentConfig
from agent.runtime.agent import Agent
from agent.sim import SimConfig, SimulatedPrinter
from agent.sync.outbox import RowKind
from shared.enums import PrinterStatus
from shared.wire import Command, JobCompletedEvent, JobFailedEvent, decode_printer_state
from tests.agent.runtime.cloud import CloudStandIn, gcode
from tests.agent.runtime.files_server import FileServer, serving
from tests.agent.runtime.harness import ORG, agent_config, running_agent, serial_printer
from tests.integration.agent_support import (
    assert_exactly_once_in_order,
    completed_jobs,
    gcode_bytes,
    gcode_lines,
    moves,
    of_type,
    start_job,
)
from tests.support.broker import TestBroker

pytestmark = pytest.mark.slow


async def wait_outbox_holds(agent: Agent, kind: RowKind, timeout_s: float = 30) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            agent.outbox.added.clear()
            if await agent.outbox.count(kind) > 0:
                return
            await agent.outbox.added.wait()


def idle_state(cloud: CloudStandIn, printer_id: str) -> bool:
    states = cloud.on(f"printers/{printer_id}/state")
    if not states:
        return False
    state = decode_printer_state(states[-1].payload)
    return state.status is PrinterStatus.IDLE and state.connected and state.job is None


@contextlib.asynccontextmanager
async def one_slow_printer(
    mqtt_broker: TestBroker, tmp_path: Path, agent_id: str
) -> AsyncIterator[tuple[SimulatedPrinter, CloudStandIn, AgentConfig, FileServer]]:
    """prt_1, a Marlin whose moves take 4 ms each, the cloud, the file server, the config."""
    slow = SimConfig(dialect="marlin", baud=250000, move_s_per_block=0.004)
    async with (
        SimulatedPrinter(slow) as sim,
        CloudStandIn(mqtt_broker.url, ORG, agent_id) as cloud,
    ):
        printers = [serial_printer("prt_1", sim.pty_path, 250000)]
        config = agent_config(mqtt_broker.url, tmp_path, agent_id=agent_id, printers=printers)
        with serving() as server:
            yield sim, cloud, config, server


async def print_until_moving(
    sim: SimulatedPrinter, cloud: CloudStandIn, server: FileServer, lines: list[str]
) -> None:
    """Once prt_1 is online, start job_1 with `lines` and wait until 200 more ran."""
    await cloud.wait_for(lambda: of_type(cloud.unique_events(), "printer.online"))
    await cloud.command(start_job(server, "s1", "prt_1", "job_1", gcode_bytes(lines)))
    assert (await cloud.wait_reply("s1", 30)).ok
    await sim.wait_executed(sim.executed_count + 200, timeout_s=30)


async def test_eight_printers_print_at_once_from_one_agent(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    agent_id = "agt_eight"
    lines = {i: gcode_lines(300, tag=i) for i in range(8)}
    async with contextlib.AsyncExitStack() as stack:
        sims = [
            await stack.enter_async_context(
                SimulatedPrinter(SimConfig(dialect="marlin", baud=250000))
            )
            for _ in range(8)
        ]
        printers = [serial_printer(f"prt_{i}", sim.pty_path, 250000) for i, sim in enumerate(sims)]
        config = agent_config(mqtt_broker.url, tmp_path, agent_id=agent_id, printers=printers)
        server = stack.enter_context(serving())
        cloud = await stack.enter_async_context(CloudStandIn(mqtt_broker.url, ORG, agent_id))
        agent = await stack.enter_async_context(running_agent(config))
        await cloud.wait_for(lambda: len(of_type(cloud.unique_events(), "printer.online")) == 8)
        for i in range(8):
            data = gcode_bytes(lines[i])
            await cloud.command(start_job(server, f"start-{i}", f"prt_{i}", f"job_{i}", data))
        for i in range(8):
            assert (await cloud.wait_reply(f"start-{i}", 30)).ok
        await cloud.wait_for(lambda: len(completed_jobs(cloud)) == 8, 60)
        for i, sim in enumerate(sims):
            assert moves(sim.executed) == lines[i]
        await cloud.wait_for(lambda: all(idle_state(cloud, f"prt_{i}") for i in range(8)))
        unique = assert_exactly_once_in_order(cloud)
        assert len(of_type(unique, "job.started")) == 8
        for event in of_type(unique, "job.completed"):
            assert isinstance(event, JobCompletedEvent)
            assert event.filament_used_mm == pytest.approx(3.0, abs=0.01)
        assert agent.link.connections == 1


async def test_broker_restarted_five_times_during_a_print(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    if not mqtt_broker.supports_restart:
        pytest.skip("needs a broker the test can restart")
    total = 3000
    lines = gcode_lines(total)
    # 3000 moves of 4 ms each in the simulated planner: the print lasts about 12 s.
    async with one_slow_printer(mqtt_broker, tmp_path, "agt_flaky") as (sim, cloud, config, server):
        async with running_agent(config) as agent:
            await cloud.wait_for(lambda: of_type(cloud.unique_events(), "printer.online"))
            await cloud.command(start_job(server, "s1", "prt_1", "job_1", gcode_bytes(lines)))
            assert (await cloud.wait_reply("s1", 30)).ok
            base = sim.executed_count
            for cycle in range(1, 6):
                await sim.wait_executed(base + cycle * total // 7, timeout_s=30)
                await asyncio.to_thread(mqtt_broker.stop)
                async with asyncio.timeout(15):
                    await agent.link.lost_event.wait()
                # The printer keeps printing while the broker is away.
                if cycle < 5:
                    await sim.wait_executed(sim.executed_count + 100, timeout_s=30)
                else:
                    # The job ends while the broker is down: its outcome waits in
                    # the outbox and is delivered after the reconnect.
                    await wait_outbox_holds(agent, RowKind.JOB, timeout_s=60)
                assert "job_1" not in completed_jobs(cloud)
                await asyncio.to_thread(mqtt_broker.start)
                async with asyncio.timeout(30):
                    await agent.link.connected.wait()
            await cloud.wait_for(lambda: "job_1" in completed_jobs(cloud), 60)
            await cloud.wait_for(lambda: idle_state(cloud, "prt_1"))
            assert agent.link.connections >= 6
            seq = await agent.store.get_meta("event_seq")
        assert moves(sim.executed) == lines  # every move once, in order: untouched
        unique = assert_exactly_once_in_order(cloud)
        assert len(unique) == int(seq or 0)
        assert [type(e).__struct_config__.tag for e in unique] == [
            "printer.online",
            "job.started",
            "job.completed",
        ]


async def test_a_command_delivered_twice_runs_once_on_the_printer(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    agent_id = "agt_dedup"
    async with (
        SimulatedPrinter(SimConfig(dialect="marlin", baud=None)) as sim,
        CloudStandIn(mqtt_broker.url, ORG, agent_id) as cloud,
    ):
        config = agent_config(
            mqtt_broker.url,
            tmp_path,
            agent_id=agent_id,
            printers=[serial_printer("prt_1", sim.pty_path)],
        )
        async with running_agent(config):
            await cloud.wait_for(lambda: of_type(cloud.unique_events(), "printer.online"))
            command = gcode("once", "prt_1", ["M117 only once"])
            # Twice back to back: the repeat arrives while the first still runs (ignored;
            # the first delivery's reply answers both) ...
            await cloud.command(command)
            await cloud.command(command)
            await cloud.wait_reply("once")
            # ... and once more after it ran: answered again from the ledger.
            await cloud.command(command)
            await cloud.wait_for(lambda: len(cloud.replies("once")) == 2)
            first, second = cloud.replies("once")
            assert first.ok and first == second
            assert sim.executed.count("M117 only once") == 1


async def test_one_printer_unplugged_mid_print_does_not_disturb_another(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    agent_id = "agt_unplug"
    lines_a, lines_b = gcode_lines(2000, tag=1), gcode_lines(1500, tag=2)
    slow = SimConfig(dialect="marlin", baud=250000, move_s_per_block=0.002)
    async with (
        SimulatedPrinter(slow) as sim_a,
        SimulatedPrinter(slow) as sim_b,
        CloudStandIn(mqtt_broker.url, ORG, agent_id) as cloud,
    ):
        printers = [
            serial_printer("prt_a", sim_a.pty_path, 250000),
            serial_printer("prt_b", sim_b.pty_path, 250000),
        ]
        config = agent_config(mqtt_broker.url, tmp_path, agent_id=agent_id, printers=printers)
        with serving() as server:
            async with running_agent(config):
                await cloud.wait_for(
                    lambda: len(of_type(cloud.unique_events(), "printer.online")) == 2
                )
                await cloud.command(start_job(server, "sa", "prt_a", "job_a", gcode_bytes(lines_a)))
                await cloud.command(start_job(server, "sb", "prt_b", "job_b", gcode_bytes(lines_b)))
                assert (await cloud.wait_reply("sa", 30)).ok
                assert (await cloud.wait_reply("sb", 30)).ok
                await sim_a.wait_executed(sim_a.executed_count + 300, timeout_s=30)
                sim_a.unplug()
                await cloud.wait_for(lambda: of_type(cloud.unique_events(), "job.failed"), 30)
                await cloud.wait_for(lambda: "job_b" in completed_jobs(cloud), 60)
                await cloud.wait_for(lambda: of_type(cloud.unique_events(), "printer.offline"))
        assert moves(sim_b.executed) == lines_b
        unique = assert_exactly_once_in_order(cloud)
        (failed,) = of_type(unique, "job.failed")
        assert isinstance(failed, JobFailedEvent)
        assert failed.job_id == "job_a" and 0 < failed.progress < 100
        (offline,) = of_type(unique, "printer.offline")
        assert offline.printer_id == "prt_a"
        assert completed_jobs(cloud) == {"job_b"}


async def test_pause_resume_cancel_and_busy_refusals_during_a_print(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    from shared.enums import ErrorCode
    from shared.wire import JobCancelledEvent
    from tests.agent.runtime.cloud import home

    lines = gcode_lines(3000)
    async with one_slow_printer(mqtt_broker, tmp_path, "agt_ctl") as (sim, cloud, config, server):
        async with running_agent(config):
            await print_until_moving(sim, cloud, server, lines)
            # Busy: a second job, homing.
            await cloud.command(start_job(server, "s2", "prt_1", "job_2", gcode_bytes(lines)))
            assert (await cloud.wait_reply("s2")).error == ErrorCode.PRINTER_BUSY
            await cloud.command(home("h1", "prt_1"))
            assert (await cloud.wait_reply("h1")).error == ErrorCode.PRINTER_BUSY

            # A pause meant for another job (late, after that one ended) touches nothing.
            await cloud.command(_action("pause", "pause-0", job_id="job_old"))
            late = await cloud.wait_reply("pause-0")
            assert late.error == ErrorCode.INVALID_REQUEST
            assert late.message is not None and "job_1" in late.message
            await cloud.command(_action("pause", "pause-1", job_id="job_1"))
            assert (await cloud.wait_reply("pause-1")).ok
            await cloud.wait_for(lambda: of_type(cloud.unique_events(), "job.paused"))
            paused_at = sim.executed_count
            await cloud.command(_action("resume", "resume-1"))
            assert (await cloud.wait_reply("resume-1")).ok
            await cloud.wait_for(lambda: of_type(cloud.unique_events(), "job.resumed"))
            await sim.wait_executed(paused_at + 100, timeout_s=30)
            await cloud.command(_action("cancel", "cancel-1"))
            assert (await cloud.wait_reply("cancel-1")).ok
            await cloud.wait_for(lambda: of_type(cloud.unique_events(), "job.cancelled"))
            await cloud.wait_for(lambda: idle_state(cloud, "prt_1"))
        unique = assert_exactly_once_in_order(cloud)
        assert [type(e).__struct_config__.tag for e in unique] == [
            "printer.online",
            "job.started",
            "job.paused",
            "job.resumed",
            "job.cancelled",
        ]
        cancelled = unique[-1]
        assert isinstance(cancelled, JobCancelledEvent)
        assert 0 < cancelled.progress < 100
        assert cancelled.filament_used_mm is not None and cancelled.filament_used_mm > 0
        executed_moves = moves(sim.executed)
        assert executed_moves == lines[: len(executed_moves)]  # a prefix, in order, no repeats


def _action(name: str, command_id: str, job_id: str | None = None) -> Command:
    from datetime import timedelta

    from shared.wire import CancelJob, PauseJob, ResumeJob
    from tests.agent.runtime.cloud import now

    kinds: dict[str, type[PauseJob | ResumeJob | CancelJob]] = {
        "pause": PauseJob,
        "resume": ResumeJob,
        "cancel": CancelJob,
    }
    issued = now()
    return kinds[name](
        command_id=command_id,
        printer_id="prt_1",
        issued_at=issued,
        expires_at=issued + timedelta(minutes=5),
        job_id=job_id,
    )


async def test_a_clean_stop_mid_print_ends_the_print_safely_and_reports_it_once(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    lines = gcode_lines(3000)
    async with one_slow_printer(mqtt_broker, tmp_path, "agt_stop") as (sim, cloud, config, server):
        async with running_agent(config) as agent:
            await print_until_moving(sim, cloud, server, lines)
            stopped_at = len(sim.executed)
        # Leaving the block stopped the agent (as SIGTERM does); what it had to say was
        # delivered before it said offline.
        with sqlite3.connect(agent.store.path) as db:
            assert db.execute("SELECT COUNT(*) FROM outbox").fetchone() == (0,)
        assert {"M104 S0", "M140 S0"} <= set(sim.executed[stopped_at:])
        unique = assert_exactly_once_in_order(cloud)
        (failed,) = of_type(unique, "job.failed")
        assert isinstance(failed, JobFailedEvent) and "agent stopped" in failed.reason
        assert not of_type(unique, "job.cancelled") and not of_type(unique, "job.completed")
