"""Injected faults: corruption each way, lost oks, busy periods, resets, thermal runaway,
emergency stop, and the cable pulled out."""

from __future__ import annotations

import asyncio

import pytest
import serial

from agent.sim import SimConfig, SimConfigError, SimulatedPrinter
from tests.agent.sim.client import numbered, stream
from tests.agent.sim.conftest import SimFactory

COMMANDS = [f"G1 X{i}.5 Y{i % 17}.25 E{i * 0.01:.2f}" for i in range(120)]


async def test_corrupted_lines_are_resent_and_executed_once(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin", corrupt_rx_share=0.2, seed=7) as (sim, client):
        resends = await stream(client, COMMANDS)
    counters = sim.counters
    assert counters.rx_corrupted > 10
    # Every corrupted line was caught by the checksum and asked for again...
    assert len(resends) == counters.rx_corrupted == counters.resends_requested
    # ...so the printer executed exactly the file, in order, nothing twice.
    assert sim.executed == COMMANDS


async def test_the_same_seed_corrupts_the_same_lines(make_sim: SimFactory) -> None:
    runs = []
    for seed in (3, 3, 4):
        async with make_sim(dialect="marlin", corrupt_rx_share=0.2, seed=seed) as (_s, client):
            runs.append(await stream(client, COMMANDS[:60]))
    assert runs[0] == runs[1]
    assert runs[0]
    assert runs[2] != runs[0]


async def test_corrupted_replies_differ_by_one_bit(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin") as (_sim, client):
        clean = await client.command("M115\n")
    async with make_sim(dialect="marlin", corrupt_tx_share=1.0, seed=1) as (sim, client):
        client.write("M115\n")
        noisy = [await client.readline() for _ in clean]
    assert sim.counters.tx_corrupted == len(clean)
    for good, bad in zip(clean, noisy, strict=True):
        diffs = [(a, b) for a, b in zip(good, bad, strict=True) if a != b]
        assert len(diffs) == 1
        assert bin(ord(diffs[0][0]) ^ ord(diffs[0][1])).count("1") == 1


async def test_dropped_ok_still_executes(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin", drop_ok_share=1.0) as (sim, client):
        client.write(numbered(1, "G1 X1"))
        await sim.wait_executed(1, timeout_s=5)
        client.write("M115\n")
        # The next line the host sees is M115's answer: G1's ok never came.
        assert (await client.readline()).startswith("FIRMWARE_NAME:")
    assert sim.counters.oks_dropped >= 1
    assert sim.executed[0] == "G1 X1"


async def test_busy_period_holds_the_ok_with_keepalives(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin", keepalive_s=0.1) as (sim, client):
        busy_at = asyncio.get_running_loop().time()
        sim.set_busy(0.35)
        client.write("G1 X1\n")
        lines = await client.until(r"^ok")
        done_at = asyncio.get_running_loop().time()
    assert lines[:-1] == ["echo:busy: processing"] * 3
    assert done_at - busy_at >= 0.35 - 0.001


async def test_busy_every_n_delays_that_command(make_sim: SimFactory) -> None:
    async with make_sim(dialect="prusa", busy_every_n=2, busy_s=0.25, keepalive_s=0.1) as (
        _sim,
        client,
    ):
        assert await client.command("G1 X1\n") == ["ok"]
        assert await client.command("G1 X2\n") == ["echo:busy: processing"] * 2 + ["ok"]


async def test_reset_mid_print_says_start_and_forgets_line_numbers(
    make_sim: SimFactory,
) -> None:
    async with make_sim(dialect="marlin", reset_after_lines=3) as (sim, client):
        for n in range(1, 3):
            assert await client.command(numbered(n, f"G1 X{n}")) == ["ok"]
        client.write(numbered(3, "G1 X3"))
        assert await client.until(r"^start$") == ["ok", "start"]
        await client.until(r"^echo: Last Updated")
        reply = await client.command(numbered(4, "G1 X4"))
    assert reply == ["Error:Line Number is not Last Line Number+1, Last Line: 0", "Resend: 1", "ok"]
    assert sim.counters.resets == 1
    assert sim.executed == ["G1 X1", "G1 X2", "G1 X3"]


async def test_manual_reset_in_each_dialect(make_sim: SimFactory) -> None:
    for dialect, first in [("prusa", "start"), ("klipper", "// Klipper state: Disconnect")]:
        async with make_sim(dialect=dialect) as (sim, client):
            sim.reset()
            assert await client.readline() == first


async def test_marlin_thermal_runaway_halts_the_printer(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin") as (sim, client):
        client.write("M104 S200\n")
        await sim.wait_executed(1, timeout_s=5)
        sim.trigger_thermal_error()
        lines = await client.until(r"kill\(\) called")
        client.write("M105\n")
        executed_before = sim.executed_count
    assert lines[-2:] == [
        "Error:Thermal Runaway, system stopped! Heater_ID: 0",
        "Error:Printer halted. kill() called!",
    ]
    assert sim.firmware.dead
    assert sim.executed_count == executed_before


async def test_klipper_shutdown_answers_every_command_with_the_reason(
    make_sim: SimFactory,
) -> None:
    async with make_sim(dialect="klipper") as (sim, client):
        sim.trigger_thermal_error()
        assert await client.readline() == "!! Heater extruder not heating at expected rate"
        assert await client.readline() == "// Klipper state: Shutdown"
        reply = await client.command("G1 X1\n")
        assert reply[-2:] == ["!! Heater extruder not heating at expected rate", "ok"]
        assert await client.command("M105\n") == ["ok T:0"]
        client.write("FIRMWARE_RESTART\n")
        assert await client.until(r"Ready") == [
            "// Klipper state: Disconnect",
            "// Klipper state: Ready",
        ]
        assert await client.command("G1 X2\n") == ["ok"]
    assert sim.executed == ["FIRMWARE_RESTART", "G1 X2"]


async def test_m112_acts_at_once_even_behind_a_full_queue(make_sim: SimFactory) -> None:
    # EMERGENCY_PARSER: the M112 is seen as it arrives, not after the queued commands.
    async with make_sim(dialect="marlin", processing_s_per_command=1.0) as (sim, client):
        client.write("G1 X1\nG1 X2\nG1 X3\nG1 X4\nG1 X5\nM112\n")
        line = await client.readline(timeout_s=0.9)
    assert line == "Error:Printer halted. kill() called!"
    assert sim.firmware.dead
    assert sim.executed == ["M112"]


async def test_unplug_fails_the_clients_read(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin") as (sim, client):
        assert await client.command("M105\n")
        sim.unplug()
        with pytest.raises(ConnectionError):
            await client.readline(timeout_s=2)
        with pytest.raises(RuntimeError):
            sim.reset()


async def test_unplug_fails_a_pyserial_read() -> None:
    async with SimulatedPrinter(SimConfig(baud=None)) as sim:
        port = serial.Serial(sim.pty_path, timeout=2)
        try:
            port.write(b"M105\n")
            reply = await asyncio.to_thread(port.readline)
            assert reply.startswith(b"ok T:")
            sim.unplug()
            with pytest.raises(serial.SerialException):
                await asyncio.to_thread(port.read, 10)
        finally:
            port.close()


async def test_wait_executed_times_out_with_a_count() -> None:
    async with SimulatedPrinter(SimConfig(baud=None)) as sim:
        with pytest.raises(TimeoutError, match="executed 0 of 1"):
            await sim.wait_executed(1, timeout_s=0.05)


def test_bad_settings_are_named() -> None:
    with pytest.raises(SimConfigError, match="corrupt_rx_share"):
        SimConfig(corrupt_rx_share=1.5).resolved()
    with pytest.raises(SimConfigError, match="dialect"):
        SimConfig(dialect="grbl").resolved()  # type: ignore[arg-type]
    with pytest.raises(SimConfigError, match="rx_buffer_bytes"):
        SimConfig(rx_buffer_bytes=1).resolved()


async def test_nothing_sent_before_start_survives_a_reset(make_sim: SimFactory) -> None:
    # A line still on the wire when the board resets, and one sent during the bootloader,
    # are both lost: only what follows `start` is executed.
    async with make_sim(dialect="marlin", latency_s=0.02, boot_s=0.2) as (sim, client):
        client.write("G1 X1\n")
        sim.reset()
        sent_during_boot = client.write("G1 X2\n")
        arrived, line = await client.readline_timed()
        assert line == "start"
        assert arrived - sent_during_boot >= 0.2 - 0.02
        await client.until(r"^echo: Last Updated")
        assert await client.command("G1 X3\n") == ["ok"]
    assert sim.executed == ["G1 X3"]


async def test_halt_lines_arrive_even_when_the_host_keeps_writing(make_sim: SimFactory) -> None:
    # The error lines are still on the wire (latency) when the host writes again; the
    # halted firmware has no deadline of its own, yet the lines must still be delivered.
    async with make_sim(dialect="marlin", latency_s=0.05) as (sim, client):
        sim.trigger_thermal_error()
        client.write("M105\n")
        lines = await client.until(r"kill\(\) called", timeout_s=2)
    assert lines[0].startswith("Error:Thermal Runaway")


async def test_reset_with_commands_still_queued_keeps_working(make_sim: SimFactory) -> None:
    # The reset comes from inside the firmware loop with more commands queued behind.
    async with make_sim(dialect="marlin", reset_after_lines=1) as (sim, client):
        client.write("G1 X1\nG1 X2\nG1 X3\n")
        await client.until(r"^start$")
        await client.until(r"^echo: Last Updated")
        assert await client.command("M400\n") == ["ok"]
    assert sim.executed == ["G1 X1", "M400"]


async def test_trace_shows_both_directions_in_order(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin", trace_lines=3) as (sim, client):
        await client.command(numbered(1, "G1 X1"))
        await client.command("M400\n")
    assert [(way, text) for _, way, text in sim.trace] == [
        (">", "ok"),
        ("<", "M400"),
        (">", "ok"),
    ]


@pytest.mark.parametrize(
    ("dialect", "lines"),
    [
        ("marlin", ["//action:filament_runout T0", "//action:paused filament_runout 0"]),
        ("klipper", ["// action:paused"]),
    ],
)
async def test_filament_runout(make_sim: SimFactory, dialect: str, lines: list[str]) -> None:
    async with make_sim(dialect=dialect) as (sim, client):
        sim.trigger_runout()
        assert [await client.readline() for _ in lines] == lines
