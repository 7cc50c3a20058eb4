"""`SerialDriver` over a real pty against the printer simulator."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from agent.drivers.base import (
    ConnectionLostError,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobPaused,
    JobResumed,
    PrinterBusyError,
    StateChanged,
)
from agent.drivers.serial import SerialDriver
from agent.sim import SimConfig
from shared.enums import PrinterStatus
from tests.agent.serial.conftest import driver_rig, file_commands, make_gcode, status_is


def is_end(event: object) -> bool:
    return isinstance(event, JobCompleted | JobFailed | JobCancelled)


@pytest.mark.slow
async def test_noisy_link_prints_20000_lines_exactly(gcode_dir: Path) -> None:
    # 2 % of lines corrupted host->printer and 2 % printer->host (oks, resend requests).
    commands = make_gcode(gcode_dir / "big.gcode", 20_000)
    config = SimConfig(
        dialect="marlin",
        baud=None,
        latency_s=0.0002,
        processing_s_per_command=0.00005,
        corrupt_rx_share=0.02,
        corrupt_tx_share=0.02,
        seed=11,
    )
    async with driver_rig(config, probe_s=0.05) as rig:
        await rig.driver.start_job("big", gcode_dir / "big.gcode")
        end = await rig.wait_for(is_end, 90.0)
        assert isinstance(end, JobCompleted), end
        assert file_commands(rig.sim.executed) == commands
        assert rig.sim.counters.rx_corrupted > 200
        assert rig.sim.counters.tx_corrupted > 200


@pytest.mark.parametrize(
    ("dialect", "noise"),
    [
        ("marlin", {"corrupt_rx_share": 0.03, "drop_ok_share": 0.01}),  # Resend: N + ok
        ("prusa", {"corrupt_rx_share": 0.03, "corrupt_tx_share": 0.01}),  # Resend: N + ok
        # Silent drop, found by the timeout alone; a timeout shorter than a slow ok would
        # send a line twice, so this one is longer than the others and the noise lighter.
        ("reprapfirmware", {"corrupt_rx_share": 0.01}),
        ("klipper", {}),  # no numbering at all; the pty cannot corrupt
    ],
)
async def test_each_dialect_recovers_its_own_way(
    gcode_dir: Path, dialect: str, noise: dict[str, Any]
) -> None:
    silent = dialect == "reprapfirmware"
    commands = make_gcode(gcode_dir / "f.gcode", 800 if silent else 1500, seed=2)
    config = SimConfig(
        dialect=dialect,  # type: ignore[arg-type]
        baud=None,
        latency_s=0.0002,
        processing_s_per_command=0.0001,
        seed=5,
        **noise,
    )
    async with driver_rig(config, probe_s=0.4 if silent else 0.05) as rig:
        assert rig.driver.profile is not None
        assert rig.driver.profile.name == dialect
        await rig.driver.start_job("j", gcode_dir / "f.gcode")
        end = await rig.wait_for(is_end, 30.0)
        assert isinstance(end, JobCompleted), end
        assert file_commands(rig.sim.executed) == commands
        if noise.get("corrupt_rx_share"):
            assert rig.sim.counters.rx_corrupted >= 4


async def test_reset_mid_print_fails_the_job_within_2_s(gcode_dir: Path) -> None:
    make_gcode(gcode_dir / "f.gcode", 5000)
    config = SimConfig(dialect="marlin", baud=250000, latency_s=0.001)
    async with driver_rig(config) as rig:
        await rig.driver.start_job("j", gcode_dir / "f.gcode")
        await rig.sim.wait_executed(300, timeout_s=10)
        reset_s = time.monotonic()
        rig.sim.reset()
        end = await rig.wait_for(is_end, 2.0)
        assert time.monotonic() - reset_s < 2.0
        assert isinstance(end, JobFailed)
        assert "reset" in end.reason
        # The printer is usable again afterwards.
        await rig.wait_for(status_is(PrinterStatus.IDLE), 2.0)
        await rig.driver.send_gcode(["M400"])
        assert rig.sim.executed[-1] == "M400"


async def test_unplug_goes_offline_and_fails_the_job(gcode_dir: Path) -> None:
    make_gcode(gcode_dir / "f.gcode", 5000)
    config = SimConfig(dialect="marlin", baud=250000, latency_s=0.001)
    async with driver_rig(config) as rig:
        await rig.driver.start_job("j", gcode_dir / "f.gcode")
        await rig.sim.wait_executed(200, timeout_s=10)
        unplugged_s = time.monotonic()
        rig.sim.unplug()
        end = await rig.wait_for(is_end, 2.0)
        await rig.wait_for(status_is(PrinterStatus.OFFLINE), 2.0)
        assert time.monotonic() - unplugged_s < 2.0
        assert isinstance(end, JobFailed)
        assert "vanished" in end.reason
        with pytest.raises(ConnectionLostError, match="vanished"):
            await asyncio.wait_for(rig.runner, 2.0)


@pytest.mark.parametrize("dialect", ["marlin", "prusa"])
async def test_pause_and_resume_lose_and_repeat_nothing(gcode_dir: Path, dialect: str) -> None:
    commands = make_gcode(gcode_dir / "f.gcode", 3000)
    config = SimConfig(dialect=dialect, baud=250000, latency_s=0.001)  # type: ignore[arg-type]
    async with driver_rig(config) as rig:
        await rig.driver.start_job("j", gcode_dir / "f.gcode")
        await rig.sim.wait_executed(500, timeout_s=10)
        await rig.driver.pause()
        await rig.wait_for(lambda e: isinstance(e, JobPaused), 1.0)
        await rig.wait_until(
            lambda: rig.driver.snapshot.job is not None and rig.driver.snapshot.job.bytes_done > 0,
            1.0,
        )
        link = rig.driver._link
        assert link is not None
        await rig.wait_until(lambda: link.protocol.in_flight == 0, 2.0)
        await rig.driver.send_gcode(["M400"])  # let the planner finish what it holds
        held = len(file_commands(rig.sim.executed))
        assert held < len(commands)
        # Paused: the printer gets no further file line while the host holds the stream.
        await rig.driver.send_gcode(["M400"])
        assert len(file_commands(rig.sim.executed)) == held
        await rig.driver.resume()
        await rig.wait_for(lambda e: isinstance(e, JobResumed), 1.0)
        end = await rig.wait_for(is_end, 30.0)
        assert isinstance(end, JobCompleted)
        assert file_commands(rig.sim.executed) == commands
        if dialect == "prusa":
            assert "M601" in rig.sim.executed
            assert "M602" in rig.sim.executed


async def test_cancel_stops_feeding_and_cools_down(gcode_dir: Path) -> None:
    commands = make_gcode(gcode_dir / "f.gcode", 5000)
    config = SimConfig(dialect="marlin", baud=250000, latency_s=0.001)
    async with driver_rig(config) as rig:
        await rig.driver.start_job("j", gcode_dir / "f.gcode")
        await rig.sim.wait_executed(300, timeout_s=10)
        await rig.driver.cancel()
        end = await rig.wait_for(is_end, 1.0)
        assert isinstance(end, JobCancelled)
        assert 0 < end.progress_pct < 100
        await rig.sim.wait_executed(rig.sim.executed_count, timeout_s=1)
        await rig.driver.send_gcode(["M400"])
        executed = file_commands(rig.sim.executed)
        tail = [c for c in executed if not c.startswith("G1")]
        moves = [c for c in executed if c.startswith("G1")]
        assert moves == commands[: len(moves)] and len(moves) < len(commands)
        assert tail[:4] == ["M104 S0", "M140 S0", "M107", "M84"]
        assert rig.driver.snapshot.status is PrinterStatus.IDLE
        with pytest.raises(PrinterBusyError):
            await rig.driver.cancel()


@pytest.mark.parametrize(
    ("dialect", "reason"),
    [
        ("marlin", "Thermal Runaway"),
        ("klipper", "not heating at expected rate"),
    ],
)
async def test_thermal_error_fails_the_job_with_the_firmware_reason(
    gcode_dir: Path, dialect: str, reason: str
) -> None:
    make_gcode(gcode_dir / "f.gcode", 5000)
    config = SimConfig(dialect=dialect, baud=250000, latency_s=0.001)  # type: ignore[arg-type]
    async with driver_rig(config) as rig:
        await rig.driver.start_job("j", gcode_dir / "f.gcode")
        await rig.sim.wait_executed(100, timeout_s=10)
        rig.sim.trigger_thermal_error()
        end = await rig.wait_for(is_end, 2.0)
        assert isinstance(end, JobFailed)
        assert reason in end.reason
        assert rig.driver.snapshot.status is PrinterStatus.ERROR


@pytest.mark.parametrize(("dialect", "firmware"), [("marlin", "Marlin"), ("klipper", "Klipper")])
async def test_identifies_firmware_and_reports_temperatures(dialect: str, firmware: str) -> None:
    config = SimConfig(dialect=dialect, baud=None, latency_s=0.0005)  # type: ignore[arg-type]
    async with driver_rig(config) as rig:
        snapshot = rig.driver.snapshot
        assert snapshot.firmware is not None and snapshot.firmware.startswith(firmware)
        await rig.driver.send_gcode(["M104 S200"])
        await rig.wait_for(
            lambda e: (
                isinstance(e, StateChanged | object)
                and rig.driver.snapshot.temperatures.hotend_target_c == 200.0
            ),
            5.0,
        )
        temps = rig.driver.snapshot.temperatures
        assert temps.hotend_c is not None and temps.bed_c is not None
        if dialect == "marlin":
            assert "M155 S2" in rig.sim.executed  # auto-report, Cap:AUTOREPORT_TEMP:1


async def test_home_and_raw_gcode_replies() -> None:
    async with driver_rig(SimConfig(dialect="marlin", baud=None, latency_s=0.0005)) as rig:
        await rig.driver.home()
        assert "G28" in rig.sim.executed
        replies = await rig.driver.send_gcode(["G999 ; bogus"])
        assert any("Unknown command" in r for r in replies)


async def test_a_printer_that_never_answers(tmp_path: Path) -> None:
    master, slave = os.openpty()
    try:
        events: list[object] = []
        driver = SerialDriver(os.ttyname(slave), events.append, detect_timeout_s=0.5)
        started_s = time.monotonic()
        with pytest.raises(ConnectionLostError, match="no reply to M115"):
            await asyncio.wait_for(driver.run(), 5.0)
        assert time.monotonic() - started_s < 3.0
        assert driver.snapshot.status is PrinterStatus.OFFLINE
        assert os.read(master, 4096).startswith(b"N0 M110 N0*125\n")
    finally:
        os.close(master)
        os.close(slave)


async def test_a_port_that_does_not_exist() -> None:
    driver = SerialDriver("/dev/does-not-exist-apf", lambda e: None)
    with pytest.raises(ConnectionLostError, match="cannot open"):
        await driver.run()
