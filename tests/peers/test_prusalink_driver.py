"""The PrusaLink driver against Prusa's own PrusaLink 0.8.1 on our simulated MK3S
(tests/peers/conftest.py, tests/support/prusalink_peer.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from agent.drivers.base import (
    ForeignJobSeen,
    InvalidCommandError,
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
from agent.drivers.prusalink import PrusaLinkConfig, PrusaLinkDriver, PrusaLinkJob
from agent.drivers.prusalink.client import CREDENTIALS_REFUSED
from shared.enums import PrinterStatus
from tests.support.drivers import Recorder, eventually, supervised
from tests.support.prusalink_peer import PASSWORD, USER, PrusaLinkPeer, dwell_gcode


def make_driver(
    peer: PrusaLinkPeer,
    recorder: Recorder,
    memory: InMemoryJobMemory[PrusaLinkJob] | None = None,
    *,
    password: str = PASSWORD,
    start_timeout_s: float = 30.0,
) -> PrusaLinkDriver:
    config = PrusaLinkConfig(
        url=peer.url,
        username=USER,
        password=password,
        poll_interval_s=0.5,
        end_grace_s=3.0,
        start_timeout_s=start_timeout_s,
    )
    return PrusaLinkDriver(config, recorder, memory)


def status_is(driver: PrusaLinkDriver, status: PrinterStatus) -> PrinterSnapshot | None:
    snap = driver.snapshot
    return snap if snap.status is status else None


async def idle(
    driver: PrusaLinkDriver, recorder: Recorder, timeout_s: float = 30
) -> PrinterSnapshot:
    return await recorder.wait_for(lambda: status_is(driver, PrinterStatus.IDLE), timeout_s, "idle")


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


async def test_prints_to_finished_and_a_reprint_reuses_the_upload(
    prusalink: PrusaLinkPeer, tmp_path: Path
) -> None:
    recorder = Recorder()
    driver = make_driver(prusalink, recorder)
    gcode = write(tmp_path / "part.gcode", dwell_gcode(4))
    async with supervised(driver):
        await idle(driver, recorder)
        # PrusaLink may report IDLE before it has read the printer's firmware version (its
        # item is gathered anew after each start; later still on a loaded machine, as in
        # stop 27's CI): the driver's string names it once PrusaLink does.
        firmware = "PrusaLink 0.8.1, firmware 3.14.1-8237"
        await recorder.wait_for(
            lambda: driver.snapshot.firmware == firmware, 90, "the printer's firmware"
        )
        # Temperatures arrive with PrusaLink's first telemetry, after IDLE: it asks the
        # printer for auto-reports once it has read the printer's info (seconds; more when
        # the machine is loaded, as beside the main suite).
        await recorder.wait_for(
            lambda: driver.snapshot.temperatures.bed_c is not None, 90, "the bed temperature"
        )
        assert driver.snapshot.temperatures.hotend_c is not None
        await driver.start_job("job_1", gcode)
        assert recorder.of(JobStarted) == [JobStarted("job_1")]
        done = await recorder.wait_event(JobCompleted, 60)
        progress = [
            e.snapshot.job.progress_pct
            for e in recorder.events
            if hasattr(e, "snapshot") and e.snapshot.job is not None
        ]
        # PrusaLink shows FINISHED a while, then IDLE: the next job waits for it.
        await idle(driver, recorder, 40)
        uploads = sorted(prusalink.gcodes.glob("apf-*.gcode"))
        assert len(uploads) == 1
        first_upload = uploads[0].stat().st_mtime_ns
        await driver.start_job("job_2", gcode)
        await recorder.wait_for(lambda: len(recorder.of(JobCompleted)) == 2, 60, "second end")
    assert done.job_id == "job_1" and done.duration_s > 0
    assert progress == sorted(progress) and progress[-1] > 0
    assert uploads[0].stat().st_mtime_ns == first_upload  # not uploaded again
    assert not recorder.of(JobFailed) and not recorder.of(ForeignJobSeen)


async def test_a_start_whose_answer_is_lost_stands_once_prusalink_shows_it(
    prusalink: PrusaLinkPeer, tmp_path: Path
) -> None:
    # PrusaLink answers a start only once the printer took it over serial; a read timeout
    # far below that loses the answer of a start PrusaLink still carries out (as a busy Pi
    # Zero does past the timeout). The job stands and completes; nothing is started twice.
    recorder = Recorder()
    driver = make_driver(prusalink, recorder, start_timeout_s=0.001)
    gcode = write(tmp_path / "unanswered.gcode", dwell_gcode(2))
    async with supervised(driver):
        await idle(driver, recorder)
        await driver.start_job("job_u", gcode)
        done = await recorder.wait_event(JobCompleted, 60)
    assert done.job_id == "job_u"
    assert recorder.of(JobStarted) == [JobStarted("job_u")]
    assert not recorder.of(JobFailed)


class AnswerHeldUntilIdleAgain(httpx.AsyncBaseTransport):
    """The wire to PrusaLink, where the answer to a start is held back until the print has
    run, ended and PrusaLink no longer shows its result, then lost (a read timeout): as
    when PrusaLink on a loaded host answers far too late. Everything else passes."""

    def __init__(self, peer: PrusaLinkPeer) -> None:
        self._peer = peer
        self._wire = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._wire.handle_async_request(request)
        if request.method != "POST" or response.status_code == 401:  # 401: digest challenge
            return response
        await response.aclose()
        await asyncio.to_thread(self._peer.wait_state, "FINISHED", 60)
        await asyncio.to_thread(self._peer.wait_state, "IDLE", 60)
        raise httpx.ReadTimeout("the answer was held back", request=request)

    async def aclose(self) -> None:
        await self._wire.aclose()


async def test_a_print_that_ends_before_its_start_is_answered_completes(
    prusalink: PrusaLinkPeer, tmp_path: Path
) -> None:
    # The status polls go on while the start is unanswered: they see the print run and
    # end, which is reported once the answer is given up on.
    recorder = Recorder()
    config = PrusaLinkConfig(
        url=prusalink.url, username=USER, password=PASSWORD, poll_interval_s=0.5
    )
    driver = PrusaLinkDriver(config, recorder, transport=AnswerHeldUntilIdleAgain(prusalink))
    gcode = write(tmp_path / "late.gcode", dwell_gcode(2))
    async with supervised(driver):
        await idle(driver, recorder)
        await driver.start_job("job_l", gcode)
        done = await recorder.wait_event(JobCompleted, 30)
    assert done.job_id == "job_l"
    job_events = (JobStarted, JobCompleted, JobFailed)
    assert [type(e) for e in recorder.events if isinstance(e, job_events)] == [
        JobStarted,
        JobCompleted,
    ]


async def test_pause_resume_and_stop(prusalink: PrusaLinkPeer, tmp_path: Path) -> None:
    recorder = Recorder()
    driver = make_driver(prusalink, recorder)
    gcode = write(tmp_path / "long.gcode", dwell_gcode(60))
    async with supervised(driver):
        await idle(driver, recorder)
        await driver.start_job("job_p", gcode)
        # PrusaLink refuses a pause (409) while the print still homes and heats: wait until
        # the file's own progress lines run.
        await recorder.wait_for(
            lambda: (j := driver.snapshot.job) is not None and j.progress_pct > 0,
            60,
            "our job printing its file",
        )
        await driver.pause()
        await recorder.wait_event(JobPaused, 30)
        assert prusalink.state() == "PAUSED"
        await driver.resume()
        await recorder.wait_event(JobResumed, 30)
        await driver.cancel()
        cancelled = await recorder.wait_event(JobCancelled, 30)
    assert cancelled.job_id == "job_p"
    assert not recorder.of(JobFailed) and not recorder.of(JobCompleted)


async def test_a_print_started_in_prusalink_is_foreign_and_never_double_started(
    prusalink: PrusaLinkPeer, tmp_path: Path
) -> None:
    recorder = Recorder()
    driver = make_driver(prusalink, recorder)
    async with supervised(driver):
        await idle(driver, recorder)
        await asyncio.to_thread(prusalink.upload_and_print, "theirs.gcode", dwell_gcode(30))
        seen = await recorder.wait_event(ForeignJobSeen, 30)
        busy = await recorder.wait_for(lambda: status_is(driver, PrinterStatus.BUSY), 10, "busy")
        with pytest.raises(PrinterBusyError):
            await driver.start_job("job_x", write(tmp_path / "mine.gcode", dwell_gcode(2)))
        with pytest.raises(PrinterBusyError, match="not started by AutoPrintFarm"):
            await driver.pause()
    assert seen.name.startswith("PrusaLink job ")
    assert busy.message is not None and "did not start" in busy.message
    assert not recorder.of(JobStarted)


async def test_a_wrong_password_is_offline_with_the_reason(prusalink: PrusaLinkPeer) -> None:
    recorder = Recorder()
    driver = make_driver(prusalink, recorder, password="wrong-password")
    async with supervised(driver) as losses:
        await eventually(lambda: bool(losses), 10, "the connection refused")
    assert driver.snapshot.status is PrinterStatus.OFFLINE
    assert driver.snapshot.message == CREDENTIALS_REFUSED == losses[0]


async def test_prusalink_restarted_mid_print_the_driver_comes_back_and_ends_the_job_once(
    prusalink: PrusaLinkPeer, tmp_path: Path
) -> None:
    memory = InMemoryJobMemory[PrusaLinkJob]()
    recorder = Recorder()
    driver = make_driver(prusalink, recorder, memory)
    gcode = write(tmp_path / "long.gcode", dwell_gcode(60))
    async with supervised(driver) as losses:
        await idle(driver, recorder)
        await driver.start_job("job_r", gcode)
        await recorder.wait_for(
            lambda: (
                driver.snapshot.status is PrinterStatus.PRINTING
                and (driver.snapshot.job or None) is not None
                and (driver.snapshot.job.progress_pct if driver.snapshot.job else 0) > 0
            ),
            30,
            "printing with progress",
        )
        prusalink.stop_link()
        await eventually(lambda: bool(losses), 20, "PrusaLink gone")
        assert driver.snapshot.status is PrinterStatus.OFFLINE
        prusalink.start_link()
        # A PrusaLink on a Pi feeds the printer itself: its restart ends the print. The
        # driver says so once, with a reason, and the printer is usable again.
        ended = await recorder.wait_for(
            lambda: [e for e in recorder.events if isinstance(e, JobFailed | JobCompleted)],
            60,
            "the job's end",
        )
        await idle(driver, recorder, 60)
    assert len(ended) == 1 and ended[0].job_id == "job_r"
    failed = ended[0]
    assert isinstance(failed, JobFailed), failed
    assert failed.reason == "the print ended without a result PrusaLink kept (restarted?)"
    assert recorder.of(JobStarted) == [JobStarted("job_r")]
    assert await memory.get() is None


async def test_gcode_is_refused_saying_why(prusalink: PrusaLinkPeer) -> None:
    recorder = Recorder()
    driver = make_driver(prusalink, recorder)
    async with supervised(driver):
        await idle(driver, recorder)
        with pytest.raises(InvalidCommandError, match="no G-code console"):
            await driver.send_gcode(["M105"])
        await driver.home()
        await driver.cooldown()
