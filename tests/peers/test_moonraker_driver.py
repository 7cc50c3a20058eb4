"""The Moonraker driver against a real Klipper and a real Moonraker (tests/peers/conftest.py).

Each test gets its own stack: Klipper's Linux-process MCU, klippy and Moonraker 0.11.0.
The printer has no heaters or steppers (kinematics none): a G1 move takes its planned
time, so `moves_gcode(n)` prints for about n seconds, and the one temperature is a host
file the test writes (above 400 °C Klipper shuts down, as on a thermal fault).
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from agent.drivers.base import (
    DriverError,
    ForeignJobSeen,
    InvalidCommandError,
    InvalidFileError,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobPaused,
    JobResumed,
    JobStarted,
    PrinterBusyError,
    PrinterSnapshot,
    StateChanged,
)
from agent.drivers.memory import InMemoryJobMemory
from agent.drivers.moonraker import MoonrakerConfig, MoonrakerDriver, MoonrakerJob
from agent.drivers.moonraker.client import API_KEY_REFUSED
from shared.enums import PrinterStatus
from tests.support.drivers import Recorder, eventually, supervised
from tests.support.klipper_stack import KlipperStack, moves_gcode
from tests.support.ports import free_port


def make_driver(
    stack: KlipperStack,
    recorder: Recorder,
    memory: InMemoryJobMemory[MoonrakerJob] | None = None,
    *,
    api_key: str | None = None,
) -> MoonrakerDriver:
    config = MoonrakerConfig(
        url=stack.url,
        api_key=api_key or stack.api_key,
        poll_interval_s=0.5,
        socket_retry_s=0.5,
        end_grace_s=2.0,
    )
    return MoonrakerDriver(config, recorder, memory)


def status_is(driver: MoonrakerDriver, status: PrinterStatus) -> PrinterSnapshot | None:
    snap = driver.snapshot
    return snap if snap.status is status else None


async def idle(driver: MoonrakerDriver, recorder: Recorder) -> PrinterSnapshot:
    return await recorder.wait_for(lambda: status_is(driver, PrinterStatus.IDLE), 20, "idle")


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


async def test_reports_idle_with_klippers_version_and_its_sensors(klipper: KlipperStack) -> None:
    recorder = Recorder()
    driver = make_driver(klipper, recorder)
    async with supervised(driver):
        snap = await idle(driver, recorder)
        assert snap.firmware is not None
        assert snap.firmware.startswith("Klipper v0.13.0-730"), snap.firmware
        assert snap.firmware.endswith(" via Moonraker 0.11.0"), snap.firmware
        await eventually(lambda: driver.socket_connected, 10, "the websocket")
        klipper.set_host_temperature(42.5)
        await recorder.wait_for(
            lambda: (
                driver.snapshot.temperatures.sensors.get("temperature_sensor host_file")
                == (42.5, None)
            ),
            10,
            "the host_file sensor at 42.5 °C",
        )
    # This printer has no extruder or bed: nothing is made up for them.
    assert driver.snapshot.temperatures.hotend_c is None
    assert driver.snapshot.temperatures.bed_c is None


async def test_prints_to_completion_and_a_reprint_reuses_the_upload(
    klipper: KlipperStack, tmp_path: Path
) -> None:
    recorder = Recorder()
    driver = make_driver(klipper, recorder)
    gcode = write(tmp_path / "cube.gcode", moves_gcode(3))
    async with supervised(driver):
        await idle(driver, recorder)
        await driver.start_job("job_1", gcode)
        assert recorder.of(JobStarted) == [JobStarted("job_1")]
        state, filename = klipper.print_state()
        assert state == "printing" and filename.startswith("apf-")
        done = await recorder.wait_event(JobCompleted, 30)
        # Klipper's print_stats says complete once the last line is read, moves queued.
        assert done.job_id == "job_1" and done.duration_s > 0.5
        await idle(driver, recorder)
        progress = [
            e.snapshot.job.progress_pct
            for e in recorder.events
            if hasattr(e, "snapshot") and e.snapshot.job is not None
        ]
        assert progress == sorted(progress) and progress[-1] > 50.0
        uploaded = klipper.data / "gcodes" / filename
        first_upload = uploaded.stat().st_mtime_ns
        await driver.start_job("job_2", gcode)
        await recorder.wait_for(lambda: len(recorder.of(JobCompleted)) == 2, 30, "second end")
    # Same content, same name: Moonraker's copy was used again, not uploaded again.
    assert uploaded.stat().st_mtime_ns == first_upload
    assert [p for p in klipper.gcodes() if p.startswith("apf-")] == [filename]
    assert not recorder.of(JobFailed) and not recorder.of(ForeignJobSeen)


async def test_pause_resume_and_cancel(klipper: KlipperStack, tmp_path: Path) -> None:
    recorder = Recorder()
    driver = make_driver(klipper, recorder)
    gcode = write(tmp_path / "long.gcode", moves_gcode(60))
    async with supervised(driver):
        await idle(driver, recorder)
        await driver.start_job("job_p", gcode)
        await driver.pause()
        await recorder.wait_event(JobPaused, 20)
        assert driver.snapshot.status is PrinterStatus.PAUSED
        assert klipper.print_state()[0] == "paused"
        await driver.resume()
        await recorder.wait_event(JobResumed, 20)
        await driver.cancel()
        cancelled = await recorder.wait_event(JobCancelled, 20)
        await idle(driver, recorder)
    assert cancelled.job_id == "job_p" and 0.0 < cancelled.progress_pct < 100.0
    assert klipper.print_state()[0] == "cancelled"
    assert not recorder.of(JobFailed) and not recorder.of(JobCompleted)


async def test_moonraker_restarted_mid_print_the_job_goes_on_and_ends_once(
    klipper: KlipperStack, tmp_path: Path
) -> None:
    memory = InMemoryJobMemory[MoonrakerJob]()
    first = Recorder()
    driver = make_driver(klipper, first, memory)
    gcode = write(tmp_path / "long.gcode", moves_gcode(8))
    runner = asyncio.create_task(driver.run())
    await idle(driver, first)
    await driver.start_job("job_r", gcode)
    klipper.stop_moonraker()
    # The driver says so and ends its run; Klipper goes on printing without Moonraker.
    with pytest.raises(Exception, match="Moonraker"):
        await asyncio.wait_for(runner, 30)
    assert driver.snapshot.status is PrinterStatus.OFFLINE
    klipper.start_moonraker()
    # The supervisor makes a new driver; it finds the job in the agent's memory.
    second = Recorder()
    again = make_driver(klipper, second, memory)
    async with supervised(again):
        done = await second.wait_event(JobCompleted, 40)
        await idle(again, second)
    assert done.job_id == "job_r"
    events = first.events + second.events
    assert [e for e in events if isinstance(e, JobStarted)] == [JobStarted("job_r")]
    assert not [e for e in events if isinstance(e, JobFailed | ForeignJobSeen)]
    assert await memory.get() is None


async def test_klippy_shutdown_mid_print_fails_the_job_with_klippers_reason(
    klipper: KlipperStack, tmp_path: Path
) -> None:
    recorder = Recorder()
    driver = make_driver(klipper, recorder)
    gcode = write(tmp_path / "long.gcode", moves_gcode(60))
    async with supervised(driver):
        await idle(driver, recorder)
        await driver.start_job("job_s", gcode)
        klipper.set_host_temperature(450.0)
        failed = await recorder.wait_event(JobFailed, 20)
        error = await recorder.wait_for(
            lambda: status_is(driver, PrinterStatus.ERROR), 10, "printer error"
        )
        # Back the way a Klipper user does it: fix the cause, FIRMWARE_RESTART.
        klipper.set_host_temperature(25.0)
        await driver.send_gcode(["FIRMWARE_RESTART"])
        await idle(driver, recorder)
    assert failed.job_id == "job_s"
    assert "above maximum temperature" in failed.reason, failed.reason
    assert error.message is not None and "above maximum temperature" in error.message
    assert error.message.startswith("Klipper shut down: ")


async def test_a_print_error_fails_the_job_with_klippers_message(
    klipper: KlipperStack, tmp_path: Path
) -> None:
    recorder = Recorder()
    driver = make_driver(klipper, recorder)
    # This printer has no extruder: an E move is an error in the middle of the file.
    gcode = write(tmp_path / "extrude.gcode", moves_gcode(1) + "G1 X5 E1 F600\n" + moves_gcode(2))
    async with supervised(driver):
        await idle(driver, recorder)
        await driver.start_job("job_e", gcode)
        failed = await recorder.wait_event(JobFailed, 20)
        await idle(driver, recorder)
    assert failed.reason.startswith("Klipper: Extrude when no extruder present"), failed.reason


async def test_a_print_started_elsewhere_is_foreign_and_never_double_started(
    klipper: KlipperStack, tmp_path: Path
) -> None:
    recorder = Recorder()
    driver = make_driver(klipper, recorder)
    async with supervised(driver):
        await idle(driver, recorder)
        klipper.upload("theirs.gcode", moves_gcode(30))
        klipper.post("/printer/print/start", params={"filename": "theirs.gcode"}).raise_for_status()
        seen = await recorder.wait_event(ForeignJobSeen, 10)
        busy = await recorder.wait_for(lambda: status_is(driver, PrinterStatus.BUSY), 10, "busy")
        with pytest.raises(PrinterBusyError):
            await driver.start_job("job_x", write(tmp_path / "mine.gcode", moves_gcode(2)))
        with pytest.raises(PrinterBusyError, match="not started by AutoPrintFarm"):
            await driver.pause()
        klipper.post("/printer/print/cancel").raise_for_status()
        await idle(driver, recorder)
    assert seen.name == "theirs.gcode"
    assert busy.message is not None and "theirs.gcode" in busy.message
    assert klipper.print_state() == ("cancelled", "theirs.gcode")
    assert not recorder.of(JobStarted)


async def test_a_wrong_api_key_is_offline_with_the_reason(klipper: KlipperStack) -> None:
    recorder = Recorder()
    driver = make_driver(klipper, recorder, api_key="0" * 32)
    async with supervised(driver) as losses:
        await eventually(lambda: bool(losses), 10, "the connection refused")
    assert driver.snapshot.status is PrinterStatus.OFFLINE
    assert driver.snapshot.message == API_KEY_REFUSED
    assert losses[0] == API_KEY_REFUSED


async def test_an_upload_moonraker_refuses_fails_the_start_with_its_reason(
    klipper_prepared: None, short_dir: Path, tmp_path: Path
) -> None:
    stack = KlipperStack(short_dir, free_port(), moonraker_extra="max_upload_size: 1")
    stack.start()
    try:
        recorder = Recorder()
        driver = make_driver(stack, recorder)
        big = write(tmp_path / "big.gcode", "; padding\n" * 150_000 + moves_gcode(1))
        async with supervised(driver):
            await idle(driver, recorder)
            with pytest.raises(InvalidFileError, match="max_upload_size") as refused:
                await driver.start_job("job_big", big)
            assert driver.snapshot.status is PrinterStatus.IDLE
    finally:
        stack.stop()
    assert not recorder.of(JobStarted)
    assert "1.4 MiB" in str(refused.value) and "up to 1 MiB" in str(refused.value)


async def test_a_full_disk_on_the_printers_host_fails_the_start_with_the_reason(
    klipper_prepared: None, short_dir: Path, tmp_path: Path
) -> None:
    # A 256 KiB tmpfs as Moonraker's gcodes folder (scripts/test-peers gives this test a
    # mount namespace of its own, so nobody else sees it).
    gcodes = short_dir / "gcodes"
    gcodes.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(gcodes)]
    await asyncio.to_thread(subprocess.run, mount, check=True)
    try:
        stack = KlipperStack(short_dir, free_port())
        stack.start()
        try:
            recorder = Recorder()
            driver = make_driver(stack, recorder)
            big = write(tmp_path / "big.gcode", "; padding\n" * 60_000 + moves_gcode(1))
            async with supervised(driver):
                await idle(driver, recorder)
                with pytest.raises(DriverError) as refused:
                    await driver.start_job("job_full", big)
                assert driver.snapshot.status is PrinterStatus.IDLE
        finally:
            stack.stop()
    finally:
        await asyncio.to_thread(subprocess.run, ["umount", str(gcodes)], check=False)
    assert not recorder.of(JobStarted)
    message = str(refused.value)
    assert message.startswith("the printer's host has no room for this file: 0.6 MiB, with 0.2"), (
        message
    )


async def test_gcode_commands_home_and_cooldown(klipper: KlipperStack) -> None:
    recorder = Recorder()
    driver = make_driver(klipper, recorder)
    async with supervised(driver):
        await idle(driver, recorder)
        replies = await driver.send_gcode(["M117 hello", "GET_POSITION"])
        assert replies[-1] == "ok"
        assert any("mcu:" in line for line in replies), replies
        with pytest.raises(InvalidCommandError, match="Extrude when no extruder present"):
            await driver.send_gcode(["G1 X5 E1"])
        await driver.home()
        await driver.cooldown()
        await idle(driver, recorder)
    changes = [e for e in recorder.events if isinstance(e, StateChanged)]
    assert changes[-1].snapshot.status is PrinterStatus.IDLE
