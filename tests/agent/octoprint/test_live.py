"""The OctoPrint driver against a real OctoPrint 1.11 and its virtual printer."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from agent.drivers.base import (
    ConnectionLostError,
    ForeignJobSeen,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobPaused,
    JobResumed,
    JobStarted,
    PrinterBusyError,
    PrinterSnapshot,
)
from agent.drivers.memory import InMemoryJobMemory
from agent.drivers.octoprint import JobRecord, OctoPrintConfig, OctoPrintDriver
from agent.drivers.octoprint.client import API_KEY_REJECTED
from shared.enums import PrinterStatus
from tests.agent.octoprint.server import OctoPrintServer, write_gcode
from tests.support.drivers import Recorder, supervised

pytestmark = pytest.mark.octoprint


def make_driver(
    server: OctoPrintServer,
    recorder: Recorder,
    memory: InMemoryJobMemory[JobRecord] | None = None,
    *,
    api_key: str | None = None,
    poll_interval_s: float = 0.5,
    push_poll_interval_s: float = 2.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> OctoPrintDriver:
    config = OctoPrintConfig(
        url=server.url,
        api_key=api_key or server.api_key,
        port="VIRTUAL",
        baudrate=115200,
        poll_interval_s=poll_interval_s,
        push_poll_interval_s=push_poll_interval_s,
        push_retry_s=0.5,
        connect_retry_s=3.0,
        end_grace_s=2.0,
    )
    return OctoPrintDriver(config, recorder, memory, transport=transport)


def status_is(driver: OctoPrintDriver, status: PrinterStatus) -> PrinterSnapshot | None:
    snap = driver.snapshot
    return snap if snap.status is status else None


async def test_connects_octoprint_to_its_printer_and_reports_idle(
    octoprint: OctoPrintServer,
) -> None:
    octoprint.disconnect_printer()
    recorder = Recorder()
    driver = make_driver(octoprint, recorder)
    async with supervised(driver):
        snap = await recorder.wait_for(
            lambda: status_is(driver, PrinterStatus.IDLE), 20, "idle after connecting"
        )
    assert snap.firmware is not None and snap.firmware.startswith("OctoPrint 1.11.")
    # On the way, the driver said OctoPrint had no printer, then connected it.
    statuses = [e.snapshot.status for e in recorder.events if hasattr(e, "snapshot")]
    assert PrinterStatus.OFFLINE in statuses
    connection = octoprint.api("GET", "/api/connection").json()["current"]
    assert connection["port"] == "VIRTUAL"


async def test_print_runs_to_completion(octoprint: OctoPrintServer, tmp_path: Path) -> None:
    recorder = Recorder()
    memory = InMemoryJobMemory[JobRecord]()
    driver = make_driver(octoprint, recorder, memory)
    gcode = write_gcode(tmp_path / "cube.gcode", duration_s=2.0)
    async with supervised(driver):
        await recorder.wait_for(lambda: status_is(driver, PrinterStatus.IDLE), 20, "idle")
        await driver.start_job("job-complete", gcode)
        assert recorder.of(JobStarted) == [JobStarted("job-complete")]
        assert await memory.get() is not None
        # Progress moves while printing.
        await recorder.wait_for(
            lambda: (j := driver.snapshot.job) is not None and 0 < j.progress_pct < 100,
            15,
            "progress between 0 and 100",
        )
        done = await recorder.wait_event(JobCompleted, 30)
        await recorder.wait_for(lambda: status_is(driver, PrinterStatus.IDLE), 10, "idle again")
        # The upload is removed once reported: at once, or, where OctoPrint still called
        # it in use, at a later report of the idle printer.
        async with asyncio.timeout(10):
            while await asyncio.to_thread(uploads_named, octoprint, "apf-job-complete"):  # noqa: ASYNC110
                await asyncio.sleep(0.2)  # polling OctoPrint's listing, with a deadline
    assert done.job_id == "job-complete"
    assert 1.0 < done.duration_s < 30.0
    assert len(recorder.of(JobCompleted)) == 1
    assert not recorder.of(JobFailed) and not recorder.of(ForeignJobSeen)
    assert await memory.get() is None


def uploads_named(octoprint: OctoPrintServer, prefix: str) -> list[str]:
    files = octoprint.api("GET", "/api/files/local").json()["files"]
    return [f["name"] for f in files if f["name"].startswith(prefix)]


async def test_pause_resume_cancel_mid_print(octoprint: OctoPrintServer, tmp_path: Path) -> None:
    recorder = Recorder()
    driver = make_driver(octoprint, recorder)
    gcode = write_gcode(tmp_path / "long.gcode", duration_s=30.0)
    async with supervised(driver):
        await recorder.wait_for(lambda: status_is(driver, PrinterStatus.IDLE), 20, "idle")
        await driver.start_job("job-prc", gcode)
        await recorder.wait_for(
            lambda: (j := driver.snapshot.job) is not None and j.progress_pct > 0, 15, "progress"
        )
        with pytest.raises(PrinterBusyError):
            await driver.home()
        with pytest.raises(PrinterBusyError):
            await driver.start_job("job-other", gcode)

        await driver.pause()
        await recorder.wait_event(JobPaused, 15)
        await recorder.wait_for(lambda: status_is(driver, PrinterStatus.PAUSED), 5, "paused")
        await driver.resume()
        await recorder.wait_event(JobResumed, 15)
        await recorder.wait_for(lambda: status_is(driver, PrinterStatus.PRINTING), 5, "printing")

        await driver.cancel()
        cancelled = await recorder.wait_event(JobCancelled, 20)
        await recorder.wait_for(lambda: status_is(driver, PrinterStatus.IDLE), 15, "idle")
    assert cancelled.job_id == "job-prc"
    assert 0 < cancelled.progress_pct < 100
    assert not recorder.of(JobCompleted) and not recorder.of(JobFailed)
    assert octoprint.state_text() == "Operational"


async def test_home_cooldown_and_temperatures_through_the_socket(
    octoprint: OctoPrintServer,
) -> None:
    recorder = Recorder()
    # REST polling so slow it cannot be the source: what arrives comes through the socket.
    driver = make_driver(octoprint, recorder, poll_interval_s=600, push_poll_interval_s=600)
    async with supervised(driver):
        await recorder.wait_for(lambda: status_is(driver, PrinterStatus.IDLE), 20, "idle")
        # The virtual printer buffers moves and homes without draining them: M400 first.
        replies = await driver.send_gcode(["G90", "G1 X20 Y30 F6000", "M400", "M114"])
        assert any(re.search(r"X:20(\.0*)? Y:30(\.0*)? ", r) for r in replies), replies
        await driver.home()
        replies = await driver.send_gcode(["M400", "M114"])
        assert any(re.search(r"X:0(\.0*)? Y:0(\.0*)? ", r) for r in replies), replies

        await driver.send_gcode(["M104 S200", "M140 S60"])
        await recorder.wait_for(
            lambda: (
                (t := driver.snapshot.temperatures).hotend_target_c == 200
                and t.bed_target_c == 60
                and (t.hotend_c or 0) > 30
            ),
            20,
            "hotend heating towards 200 °C",
        )
        await driver.cooldown()
        await recorder.wait_for(
            lambda: (
                (t := driver.snapshot.temperatures).hotend_target_c == 0 and t.bed_target_c == 0
            ),
            10,
            "targets back to 0",
        )


async def test_wrong_api_key_is_a_printer_error(octoprint: OctoPrintServer) -> None:
    recorder = Recorder()
    driver = make_driver(octoprint, recorder, api_key="not-the-key")
    with pytest.raises(ConnectionLostError, match=API_KEY_REJECTED):
        await asyncio.wait_for(driver.run(), 15)
    assert driver.snapshot.status is PrinterStatus.ERROR
    assert driver.snapshot.message == "OctoPrint rejected the API key"


class NoSocket(httpx.AsyncBaseTransport):
    """The real OctoPrint, with its push socket blocked (as a proxy without it would)."""

    def __init__(self) -> None:
        self._real = httpx.AsyncHTTPTransport()
        self.blocked = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/sockjs"):
            self.blocked += 1
            return httpx.Response(404, request=request)
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()


async def test_without_the_push_socket_polling_carries_a_print(
    octoprint: OctoPrintServer, tmp_path: Path
) -> None:
    recorder = Recorder()
    transport = NoSocket()
    driver = make_driver(octoprint, recorder, transport=transport)
    gcode = write_gcode(tmp_path / "polled.gcode", duration_s=2.0)
    async with supervised(driver):
        await recorder.wait_for(lambda: status_is(driver, PrinterStatus.IDLE), 20, "idle")
        await driver.start_job("job-polled", gcode)
        await recorder.wait_for(
            lambda: status_is(driver, PrinterStatus.PRINTING), 10, "printing (polled)"
        )
        done = await recorder.wait_event(JobCompleted, 30)
        await recorder.wait_for(lambda: status_is(driver, PrinterStatus.IDLE), 10, "idle again")
    assert done.job_id == "job-polled"
    assert transport.blocked > 0 and not driver.push_connected
    assert not recorder.of(JobFailed)
