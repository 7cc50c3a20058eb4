"""OctoPrint-side surprises: a restart mid-print, a print started in OctoPrint's UI, and an
agent that restarts while OctoPrint prints (re-attach; an end reported once)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from agent.drivers.base import (
    ForeignJobSeen,
    JobCompleted,
    JobFailed,
    JobStarted,
    PrinterBusyError,
    PrinterSnapshot,
    StateChanged,
    TelemetryUpdated,
)
from agent.drivers.memory import InMemoryJobMemory
from agent.drivers.octoprint import JobRecord
from shared.enums import PrinterStatus
from tests.agent.octoprint.server import OctoPrintServer, write_gcode
from tests.agent.octoprint.test_live import make_driver, status_is
from tests.support.drivers import Recorder, eventually, supervised

pytestmark = pytest.mark.octoprint

_JOB_EVENTS = (JobStarted, JobCompleted, JobFailed, ForeignJobSeen)


def wait_until_printed(server: OctoPrintServer, path: str, timeout_s: float) -> None:
    """Block until OctoPrint logged a finished print of `path` (and is idle)."""
    deadline = time.monotonic() + timeout_s
    while True:
        info = server.api("GET", f"/api/files/local/{path}").json()
        if (info.get("prints") or {}).get("success") and server.state_text() == "Operational":
            return
        assert time.monotonic() < deadline, f"OctoPrint did not finish printing {path}"
        time.sleep(0.1)  # polling a condition with a deadline


def wait_progress_above(server: OctoPrintServer, pct: float, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while (server.api("GET", "/api/job").json()["progress"]["completion"] or 0) <= pct:
        assert time.monotonic() < deadline, f"OctoPrint's print did not pass {pct}%"
        time.sleep(0.1)  # polling a condition with a deadline


async def test_octoprint_killed_and_restarted_mid_print(
    octoprint: OctoPrintServer, tmp_path: Path
) -> None:
    recorder = Recorder()
    memory = InMemoryJobMemory[JobRecord]()
    driver = make_driver(octoprint, recorder, memory)
    gcode = write_gcode(tmp_path / "long.gcode", duration_s=30.0)
    async with supervised(driver) as losses:
        await recorder.wait_for(lambda: status_is(driver, PrinterStatus.IDLE), 20, "idle")
        await driver.start_job("job-killed", gcode)
        await recorder.wait_for(
            lambda: (j := driver.snapshot.job) is not None and j.progress_pct > 0, 15, "progress"
        )
        octoprint.kill()
        await recorder.wait_for(lambda: status_is(driver, PrinterStatus.OFFLINE), 15, "offline")
        assert "unreachable" in (driver.snapshot.message or "")
        # While OctoPrint is away nothing is decided about the job.
        assert not recorder.of(JobFailed)
        assert await memory.get() is not None

        await asyncio.to_thread(octoprint.start)
        failed = await recorder.wait_event(JobFailed, 30)
        # The driver connects the restarted OctoPrint to its printer again.
        await recorder.wait_for(lambda: status_is(driver, PrinterStatus.IDLE), 30, "idle")
    assert losses, "run() should have raised ConnectionLostError while OctoPrint was down"
    assert failed.job_id == "job-killed"
    assert "OctoPrint" in failed.reason
    assert 0 < failed.progress_pct < 100
    assert len(recorder.of(JobFailed)) == 1 and not recorder.of(JobCompleted)
    assert await memory.get() is None


async def test_print_started_in_octoprint_is_foreign(
    octoprint: OctoPrintServer, tmp_path: Path
) -> None:
    recorder = Recorder()
    driver = make_driver(octoprint, recorder)
    theirs = write_gcode(tmp_path / "theirs.gcode", duration_s=30.0)
    ours = write_gcode(tmp_path / "ours.gcode", duration_s=1.0)
    async with supervised(driver):
        await recorder.wait_for(lambda: status_is(driver, PrinterStatus.IDLE), 20, "idle")
        path = await asyncio.to_thread(octoprint.upload_and_print, theirs, "someone-elses.gcode")

        seen = await recorder.wait_event(ForeignJobSeen, 15)
        snap = await recorder.wait_for(lambda: status_is(driver, PrinterStatus.BUSY), 10, "busy")
        assert seen.name == "someone-elses.gcode"
        assert snap.job is None
        assert "someone-elses.gcode" in (snap.message or "")
        # Nothing is queued onto it, and its controls stay with whoever started it.
        with pytest.raises(PrinterBusyError):
            await driver.start_job("job-ours", ours)
        with pytest.raises(PrinterBusyError):
            await driver.pause()
        # The print goes on for a while (many push messages); still one ForeignJobSeen.
        await asyncio.to_thread(wait_progress_above, octoprint, 10.0, 20)

        job = octoprint.api("GET", "/api/job").json()
        assert job["state"] == "Printing" and job["job"]["file"]["path"] == path
        octoprint.api("POST", "/api/job", json={"command": "cancel"})
        await recorder.wait_for(lambda: status_is(driver, PrinterStatus.IDLE), 20, "idle")
    assert len(recorder.of(ForeignJobSeen)) == 1
    assert not recorder.of(JobStarted) and not recorder.of(JobFailed)


async def test_agent_restart_reattaches_to_running_job(
    octoprint: OctoPrintServer, tmp_path: Path
) -> None:
    memory = InMemoryJobMemory[JobRecord]()
    first = Recorder()
    driver = make_driver(octoprint, first, memory)
    gcode = write_gcode(tmp_path / "reattach.gcode", duration_s=5.0)
    async with supervised(driver):
        await first.wait_for(lambda: status_is(driver, PrinterStatus.IDLE), 20, "idle")
        await driver.start_job("job-reattach", gcode)
    # The agent is gone; OctoPrint prints on.
    assert octoprint.state_text() in ("Starting", "Printing")

    second = Recorder()
    restarted = make_driver(octoprint, second, memory)
    async with supervised(restarted):

        def reattached() -> PrinterSnapshot | None:
            snap = restarted.snapshot
            job = snap.job
            ok = snap.status is PrinterStatus.PRINTING and job and job.job_id == "job-reattach"
            return snap if ok else None

        snap = await second.wait_for(reattached, 15, "the running job re-attached")
        done = await second.wait_event(JobCompleted, 30)
    assert snap.message is None
    assert done.job_id == "job-reattach"
    assert not second.of(JobFailed) and not second.of(ForeignJobSeen)
    assert not second.of(JobStarted)  # reported once, by the first instance
    assert await memory.get() is None


async def test_job_finished_while_agent_away_is_reported_once(
    octoprint: OctoPrintServer, tmp_path: Path
) -> None:
    memory = InMemoryJobMemory[JobRecord]()
    first = Recorder()
    driver = make_driver(octoprint, first, memory)
    gcode = write_gcode(tmp_path / "short.gcode", duration_s=1.0)
    async with supervised(driver):
        await first.wait_for(lambda: status_is(driver, PrinterStatus.IDLE), 20, "idle")
        await driver.start_job("job-away", gcode)
    record = await memory.get()
    assert record is not None
    await asyncio.to_thread(wait_until_printed, octoprint, record.path, 30)

    second = Recorder()
    back = make_driver(octoprint, second, memory)
    async with supervised(back):
        done = await second.wait_event(JobCompleted, 15)
        await second.wait_for(lambda: status_is(back, PrinterStatus.IDLE), 10, "idle")
    assert done.job_id == "job-away"
    assert len(second.of(JobCompleted)) == 1
    assert await memory.get() is None

    # A third start knows nothing more to report.
    third = Recorder()
    again = make_driver(octoprint, third, memory)
    async with supervised(again):
        await third.wait_for(lambda: status_is(again, PrinterStatus.IDLE), 20, "idle")
        # The socket delivered OctoPrint's full state (history, current) by now.
        await eventually(lambda: again.push_connected, 10, "the push socket")
        await third.wait_for(lambda: status_is(again, PrinterStatus.IDLE), 5, "still idle")
    assert all(isinstance(e, StateChanged | TelemetryUpdated) for e in third.events)
