"""The Bambu driver against the simulated printer (TLS MQTT, implicit FTPS) on loopback.

The simulator is held to real client libraries in tests/peers/test_bambu_clients.py; here
our own driver drives it through a print's whole life and through the faults a farm meets:
a wrong access code, a changed certificate, Developer Mode off, a reboot mid-print, an
injected failure and HMS fault, a full card, and an agent restart mid-print.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.drivers.bambu import BambuConfig, BambuDriver, BambuJob
from agent.drivers.base import (
    DriverError,
    InvalidCommandError,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobPaused,
    JobResumed,
    JobStarted,
)
from agent.drivers.memory import InMemoryJobMemory
from agent.sim.bambu.model import Faults
from agent.sim.bambu.printer import BambuSimulator, SimulatorSettings, running_simulator
from shared.enums import PrinterStatus
from tests.support.bambu import gcode_lasting
from tests.support.drivers import Recorder, eventually, supervised

FAST = SimulatorSettings(
    mqtt_port=0,
    ftps_port=0,
    report_interval_s=0.1,
    prepare_s=0.2,
    heat_rate_c_per_s=200.0,
    boot_s=0.2,
    min_print_s=0.5,
    lockout_s=0,
)


@contextlib.asynccontextmanager
async def printer(**changes: object) -> AsyncIterator[BambuSimulator]:
    async with running_simulator(dataclasses.replace(FAST, **changes)) as sim:  # type: ignore[arg-type]
        yield sim


def config_for(sim: BambuSimulator, **changes: object) -> BambuConfig:
    base = BambuConfig(
        host="127.0.0.1",
        serial=sim.settings.serial,
        access_code=sim.settings.access_code,
        mqtt_port=sim.mqtt.port,
        ftps_port=sim.ftps.port,
        request_timeout_s=2.0,
        end_grace_s=2.0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def gcode(tmp_path: Path, minutes: int, name: str = "job.gcode") -> Path:
    path = tmp_path / name
    path.write_text(gcode_lasting(minutes))
    return path


async def until_status(driver: BambuDriver, rec: Recorder, status: PrinterStatus) -> None:
    await rec.wait_for(lambda: driver.snapshot.status is status, 10, f"status {status}")


async def test_reads_the_printer_and_pins_its_certificate() -> None:
    async with printer() as sim:
        rec = Recorder()
        pin = InMemoryJobMemory[str]()
        driver = BambuDriver(config_for(sim), rec, pin=pin)
        async with supervised(driver):
            await until_status(driver, rec, PrinterStatus.IDLE)
            snap = driver.snapshot
            assert snap.firmware is not None and "01.08.02.00" in snap.firmware
            assert snap.temperatures.bed_c is not None and snap.temperatures.bed_c > 0
            # A P1S has no chamber sensor: its fixed chamber number is not reported.
            assert snap.temperatures.chamber_c is None
            loaded = {(m.slot, m.material_type, m.color) for m in snap.materials}
            assert ("AMS1 tray 3", "PETG", "#DE4343") in loaded
            assert len([m for m in snap.materials if m.slot.startswith("AMS1")]) == 4
        assert await pin.get() == sim.fingerprint


async def test_prints_a_file_to_completion(tmp_path: Path) -> None:
    # Ten minutes by the file's header, two seconds here: time to look at the card.
    async with printer(speed=300.0) as sim:
        rec = Recorder()
        driver = BambuDriver(config_for(sim), rec)
        async with supervised(driver):
            await until_status(driver, rec, PrinterStatus.IDLE)
            await driver.start_job("job_1", gcode(tmp_path, 10))
            assert rec.of(JobStarted) == [JobStarted("job_1")]
            await rec.wait_for(lambda: sim.ftps.stats.files_stored == 1, 10, "the upload")
            # The upload's data connection resumed the control connection's TLS session.
            assert sim.ftps.stats.data_sessions_reused == sim.ftps.stats.data_connections == 1
            uploads = list((sim.card_dir / "cache").glob("apf-*.gcode"))
            assert len(uploads) == 1
            assert uploads[0].read_bytes() == (tmp_path / "job.gcode").read_bytes()
            done = await rec.wait_event(JobCompleted, 20)
            assert done.job_id == "job_1"
            await until_status(driver, rec, PrinterStatus.IDLE)
            # The ended job's file leaves the card.
            await eventually(lambda: not uploads[0].exists(), 10, "the upload removed")
            starts = [
                r["print"]
                for r in sim.requests
                if r.get("print", {}).get("command") == "gcode_file"
            ]
            assert starts == [
                {
                    "sequence_id": starts[0]["sequence_id"],
                    "command": "gcode_file",
                    "param": f"/cache/{uploads[0].name}",
                }
            ]


async def test_pause_resume_and_cancel(tmp_path: Path) -> None:
    async with printer(speed=1.0) as sim:
        rec = Recorder()
        driver = BambuDriver(config_for(sim), rec)
        async with supervised(driver):
            await until_status(driver, rec, PrinterStatus.IDLE)
            await driver.start_job("job_2", gcode(tmp_path, 60))
            await rec.wait_for(lambda: sim.model.gcode_state == "RUNNING", 10, "RUNNING")
            await driver.pause()
            await rec.wait_event(JobPaused, 10)
            assert driver.snapshot.status is PrinterStatus.PAUSED
            await driver.resume()
            await rec.wait_event(JobResumed, 10)
            await driver.cancel()
            cancelled = await rec.wait_event(JobCancelled, 10)
            assert cancelled.job_id == "job_2"
            assert not rec.of(JobFailed)
            await until_status(driver, rec, PrinterStatus.IDLE)


async def test_wrong_access_code_goes_offline_and_waits() -> None:
    async with printer() as sim:
        rec = Recorder()
        driver = BambuDriver(
            config_for(sim, access_code="87654321", refused_login_backoff_s=60), rec
        )
        async with supervised(driver) as losses:
            await rec.wait_for(
                lambda: "refused the access code" in (driver.snapshot.message or ""), 10, "refusal"
            )
            assert driver.snapshot.status is PrinterStatus.OFFLINE
            # One login, then the driver waits out the printer's lockout instead of retrying.
            assert sim.logins.failures_total == 1
            assert losses == []


async def test_a_changed_certificate_is_refused_before_login() -> None:
    async with printer() as sim:
        rec = Recorder()
        driver = BambuDriver(config_for(sim), rec, pin=InMemoryJobMemory("ab" * 32))
        async with supervised(driver):
            await rec.wait_for(
                lambda: "certificate changed" in (driver.snapshot.message or ""), 10, "mismatch"
            )
            assert sim.fingerprint in (driver.snapshot.message or "")
            assert sim.requests == [] and sim.logins.failures_total == 0


async def test_control_without_developer_mode_says_so(tmp_path: Path) -> None:
    async with printer(developer_mode=False) as sim:
        rec = Recorder()
        config = config_for(sim, request_timeout_s=1.0, refused_start_hold_s=1.0)
        driver = BambuDriver(config, rec)
        async with supervised(driver):
            await until_status(driver, rec, PrinterStatus.IDLE)
            with pytest.raises(InvalidCommandError, match="Developer Mode"):
                await driver.start_job("job_3", gcode(tmp_path, 5))
            assert not rec.of(JobStarted)
            # The queue is kept away while the printer cannot take a job, then let back.
            assert driver.snapshot.status is PrinterStatus.ERROR
            assert "Developer Mode" in (driver.snapshot.message or "")
            await until_status(driver, rec, PrinterStatus.IDLE)


async def test_a_reboot_mid_print_fails_the_job_and_reconnects(tmp_path: Path) -> None:
    async with printer(speed=1.0) as sim:
        rec = Recorder()
        driver = BambuDriver(config_for(sim), rec)
        async with supervised(driver, retry_s=0.2) as losses:
            await until_status(driver, rec, PrinterStatus.IDLE)
            await driver.start_job("job_4", gcode(tmp_path, 60))
            await rec.wait_for(lambda: sim.model.gcode_state == "RUNNING", 10, "RUNNING")
            await sim.reboot()
            failed = await rec.wait_event(JobFailed, 15)
            assert failed.job_id == "job_4" and "restarted" in failed.reason
            await until_status(driver, rec, PrinterStatus.IDLE)
            assert losses  # the link dropped and came back


async def test_an_injected_failure_fails_the_job_with_the_printers_reason(tmp_path: Path) -> None:
    async with printer(speed=60.0, faults=Faults(fail_at_pct=30)) as sim:
        rec = Recorder()
        driver = BambuDriver(config_for(sim), rec)
        async with supervised(driver):
            await until_status(driver, rec, PrinterStatus.IDLE)
            await driver.start_job("job_5", gcode(tmp_path, 10))
            failed = await rec.wait_event(JobFailed, 15)
    assert "0C00_8001" in failed.reason
    assert failed.progress_pct >= 30


async def test_an_hms_fault_pauses_with_a_message(tmp_path: Path) -> None:
    async with printer(speed=240.0, faults=Faults(hms_at_pct=20)) as sim:
        rec = Recorder()
        driver = BambuDriver(config_for(sim), rec)
        async with supervised(driver):
            await until_status(driver, rec, PrinterStatus.IDLE)
            await driver.start_job("job_6", gcode(tmp_path, 10))
            await rec.wait_event(JobPaused, 15)
            assert driver.snapshot.message and "0700_2000_0002_0011" in driver.snapshot.message
            await driver.resume()
            await rec.wait_event(JobCompleted, 20)


async def test_a_full_card_fails_the_start_with_the_reason(tmp_path: Path) -> None:
    async with printer(card_bytes=100) as sim:
        rec = Recorder()
        driver = BambuDriver(config_for(sim), rec)
        async with supervised(driver):
            await until_status(driver, rec, PrinterStatus.IDLE)
            with pytest.raises(DriverError, match="full"):
                await driver.start_job("job_7", gcode(tmp_path, 5))
            assert not rec.of(JobStarted)
            assert driver.snapshot.status is PrinterStatus.ERROR
            assert "full" in (driver.snapshot.message or "")


async def test_a_new_driver_reattaches_to_the_running_job(tmp_path: Path) -> None:
    async with printer(speed=300.0) as sim:
        memory = InMemoryJobMemory[BambuJob]()
        first_rec = Recorder()
        first = BambuDriver(config_for(sim), first_rec, memory)
        async with supervised(first):
            await until_status(first, first_rec, PrinterStatus.IDLE)
            await first.start_job("job_8", gcode(tmp_path, 10))
            await first_rec.wait_for(lambda: sim.model.gcode_state == "RUNNING", 10, "RUNNING")
        # The agent restarts mid-print: a new driver, the same durable memory.
        rec = Recorder()
        second = BambuDriver(config_for(sim), rec, memory)
        async with supervised(second):
            done = await rec.wait_event(JobCompleted, 20)
            assert done.job_id == "job_8"
        assert not first_rec.of(JobCompleted)
        assert await memory.get() is None


async def test_a_print_started_elsewhere_keeps_the_printer_busy(tmp_path: Path) -> None:
    async with printer(speed=1.0) as sim:
        (sim.card_dir / "cache" / "other.gcode").write_text(gcode_lasting(60))
        rec = Recorder()
        driver = BambuDriver(config_for(sim), rec)
        async with supervised(driver):
            await until_status(driver, rec, PrinterStatus.IDLE)
            loop = asyncio.get_running_loop()
            sim.model.start(sim._load({"param": "/cache/other.gcode"}, "gcode_file"), loop.time())
            await until_status(driver, rec, PrinterStatus.BUSY)
            assert "other" in (driver.snapshot.message or "")
            with pytest.raises(DriverError):
                await driver.start_job("job_9", gcode(tmp_path, 5))


async def test_a_reprint_of_the_same_file_is_not_ended_by_the_last_result(tmp_path: Path) -> None:
    # The printer shows the last FINISH (of the same file) for a while after the start.
    async with printer(speed=600.0, start_lag_s=1.0) as sim:
        rec = Recorder()
        driver = BambuDriver(config_for(sim), rec)
        path = gcode(tmp_path, 10)
        async with supervised(driver):
            await until_status(driver, rec, PrinterStatus.IDLE)
            await driver.start_job("job_a", path)
            await rec.wait_for(lambda: rec.of(JobCompleted), 20, "the first print")
            await until_status(driver, rec, PrinterStatus.IDLE)
            await driver.start_job("job_b", path)
            second = await rec.wait_for(
                lambda: [e for e in rec.of(JobCompleted) if e.job_id == "job_b"], 20, "job_b"
            )
            # It completed because the printer printed it again, not on the old FINISH.
            assert sim.model.job_counter == 2
            assert second[0].duration_s >= 1.0
            assert not rec.of(JobFailed)


async def test_a_start_the_printer_acknowledges_but_never_begins_fails(tmp_path: Path) -> None:
    async with printer(speed=600.0) as sim:
        rec = Recorder()
        driver = BambuDriver(config_for(sim), rec)
        path = gcode(tmp_path, 10)
        async with supervised(driver):
            await until_status(driver, rec, PrinterStatus.IDLE)
            await driver.start_job("job_a", path)
            await rec.wait_event(JobCompleted, 20)
            await until_status(driver, rec, PrinterStatus.IDLE)
            sim.settings = dataclasses.replace(sim.settings, ignore_starts=True)
            await driver.start_job("job_b", path)
            failed = await rec.wait_event(JobFailed, 20)
    assert failed.job_id == "job_b" and "did not begin" in failed.reason
    assert [e.job_id for e in rec.of(JobCompleted)] == ["job_a"]


async def test_an_old_print_error_does_not_fail_the_next_job(tmp_path: Path) -> None:
    async with printer(speed=600.0) as sim:
        sim.model.print_error = 0x0500C010  # left over from an earlier refused start
        rec = Recorder()
        driver = BambuDriver(config_for(sim), rec)
        async with supervised(driver):
            await until_status(driver, rec, PrinterStatus.IDLE)
            await driver.start_job("job_c", gcode(tmp_path, 10))
            done = await rec.wait_event(JobCompleted, 20)
    assert done.job_id == "job_c" and not rec.of(JobFailed)


async def test_reports_that_lie_are_ignored_and_the_session_goes_on(tmp_path: Path) -> None:
    async with printer(speed=600.0) as sim:
        rec = Recorder()
        driver = BambuDriver(config_for(sim), rec)
        async with supervised(driver) as losses:
            await until_status(driver, rec, PrinterStatus.IDLE)
            for garbage in (
                b"not json",
                b"[" * 100_000,  # nesting deeper than a JSON parser recurses
                b'["a list"]',
                b'{"print": "not an object"}',
                b'{"print": {"gcode_state": 7, "mc_percent": "x", "nozzle_temper": [1]}}',
                b'{"info": {"command": "get_version", "module": "?"}}',
            ):
                sim.mqtt.publish_raw(garbage)
            await driver.start_job("job_d", gcode(tmp_path, 10))
            await rec.wait_event(JobCompleted, 20)
            assert losses == []


async def test_a_lost_acknowledgement_of_a_start_that_worked_is_not_a_failure(
    tmp_path: Path,
) -> None:
    async with printer(speed=600.0, drop_acks=True) as sim:
        rec = Recorder()
        driver = BambuDriver(config_for(sim, request_timeout_s=1.0), rec)
        async with supervised(driver):
            await until_status(driver, rec, PrinterStatus.IDLE)
            await driver.start_job("job_e", gcode(tmp_path, 10))
            assert rec.of(JobStarted) == [JobStarted("job_e")]
            done = await rec.wait_event(JobCompleted, 20)
    assert done.job_id == "job_e" and sim.model.job_counter == 1
