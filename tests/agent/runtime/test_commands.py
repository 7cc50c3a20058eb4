"""Commands through a real broker into a real agent: replies, refusals, dedup, bad input."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from shared.enums import ErrorCode
from shared.wire import HomeAxes
from tests.agent.runtime.cloud import CloudStandIn, gcode, home, now
from tests.agent.runtime.harness import ORG, agent_config, running_agent, serial_printer
from tests.support.broker import TestBroker

AGENT = "agt_cmd"


async def test_unknown_printer_gets_a_clear_error_reply(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    config = agent_config(mqtt_broker.url, tmp_path, agent_id=AGENT)
    async with CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud, running_agent(config):
        await cloud.command(home("c1", "prt_ghost"))
        reply = await cloud.wait_reply("c1")
        assert not reply.ok
        assert reply.error == ErrorCode.UNKNOWN_PRINTER
        assert reply.message is not None and "prt_ghost" in reply.message
        assert reply.printer_id == "prt_ghost"


async def test_an_expired_command_is_refused(mqtt_broker: TestBroker, tmp_path: Path) -> None:
    config = agent_config(mqtt_broker.url, tmp_path, agent_id=AGENT)
    async with CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud, running_agent(config):
        issued = now() - timedelta(minutes=10)
        await cloud.command(
            HomeAxes(
                command_id="old",
                printer_id="prt_ghost",
                issued_at=issued,
                expires_at=issued + timedelta(minutes=5),
            )
        )
        reply = await cloud.wait_reply("old")
        assert reply.error == ErrorCode.COMMAND_EXPIRED


async def test_malformed_commands_are_logged_and_ignored_and_the_agent_keeps_going(
    mqtt_broker: TestBroker, tmp_path: Path, caplog: object
) -> None:
    config = agent_config(mqtt_broker.url, tmp_path, agent_id=AGENT)
    async with CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud, running_agent(config):
        await cloud.raw_command(b"\xff\x00 not json")
        await cloud.raw_command(b'{"command": "home"}')  # no id: nothing to answer
        # Readable id, unknown command type (a newer cloud): answered invalid_request once.
        await cloud.raw_command(
            b'{"command": "explode", "command_id": "c-new", "printer_id": "prt_1"}'
        )
        bad = await cloud.wait_reply("c-new")
        assert bad.error == ErrorCode.INVALID_REQUEST
        assert bad.message is not None and "explode" in bad.message
        # Still running: a good command after the bad ones is answered.
        await cloud.command(home("c-ok", "prt_x"))
        assert (await cloud.wait_reply("c-ok")).error == ErrorCode.UNKNOWN_PRINTER
        assert len(cloud.replies()) == 2
    text = getattr(caplog, "text", "")
    assert "ignored a malformed command" in text


async def test_a_command_delivered_twice_is_answered_from_the_ledger_even_after_a_restart(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    printer = serial_printer("prt_1", str(tmp_path / "no-such-tty"))
    config = agent_config(mqtt_broker.url, tmp_path, agent_id=AGENT, printers=[printer])
    command = gcode("dup", "prt_1", ["M115"])
    async with CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud:
        async with running_agent(config):
            await cloud.command(command)
            first = await cloud.wait_reply("dup")
            assert first.error == ErrorCode.PRINTER_OFFLINE
            await cloud.command(command)
            await cloud.wait_for(lambda: len(cloud.replies("dup")) == 2)
        async with running_agent(config):
            await cloud.command(command)
            await cloud.wait_for(lambda: len(cloud.replies("dup")) == 3)
        payloads = [m.payload for m in cloud.on("replies")]
        # The very same answer each time (same ts): the command ran once.
        assert len(set(payloads)) == 1


async def test_a_command_cut_off_by_its_printers_removal_is_answered_when_resent(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    from agent.sim import SimConfig, SimulatedPrinter
    from shared.wire import DesiredConfig, PrinterConfig, SerialConnection

    def desired(revision: int, port: str | None) -> DesiredConfig:
        printers = []
        if port is not None:
            conn = SerialConnection(port=port)
            printers.append(PrinterConfig(printer_id="prt_s", name="s", connection=conn))
        return DesiredConfig(agent_id=AGENT, revision=revision, printers=printers)

    config = agent_config(mqtt_broker.url, tmp_path, agent_id=AGENT)
    async with (
        SimulatedPrinter(SimConfig(dialect="marlin", baud=None, homing_s=30.0)) as sim,
        CloudStandIn(mqtt_broker.url, ORG, AGENT) as cloud,
        running_agent(config),
    ):
        await cloud.desired(desired(1, sim.pty_path))
        await cloud.wait_for(lambda: cloud.on("events"))  # printer.online
        await cloud.command(home("h-long", "prt_s"))
        # Removed while homing (30 s): the command never finishes on this printer.
        await cloud.desired(desired(2, None))
        await cloud.wait_for(lambda: b"removed" in cloud.on("printers/prt_s/state")[-1].payload)
        assert cloud.replies("h-long") == []
        await cloud.command(home("h-long", "prt_s"))  # the cloud re-sends
        reply = await cloud.wait_reply("h-long")
        assert reply.error == ErrorCode.INTERNAL_ERROR
        assert reply.message is not None and "interrupted" in reply.message
