"""PrusaLink's status mapped to ours, and the job tracker on scripted statuses (no server).

The statuses are shaped as PrusaLink 0.8.1's `/api/v1/status` answers them
(prusa/link/web/main.py `api_status`).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from agent.drivers.base import (
    DriverEvent,
    ForeignJobSeen,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobPaused,
    JobProgress,
    JobResumed,
)
from agent.drivers.memory import InMemoryJobMemory
from agent.drivers.prusalink.state import observe, printer_status, temperatures_from
from agent.drivers.prusalink.tracker import JobTracker, PrusaLinkJob
from shared.enums import PrinterStatus


def status(state: str, job_id: int | None = None, **job: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "printer": {
            "state": state,
            "temp_nozzle": 214.9,
            "target_nozzle": 215.0,
            "temp_bed": 60.1,
            "target_bed": 60.0,
            "status_printer": job.pop("condition", {"ok": True, "message": "OK"}),
        },
        "storage": [{"path": "/local", "read_only": False, "free_space": 1 << 30}],
    }
    if job_id is not None:
        body["job"] = {"id": job_id, "progress": 0.0, "time_printing": 10, **job}
    return body


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("IDLE", PrinterStatus.IDLE),
        ("READY", PrinterStatus.IDLE),
        ("BUSY", PrinterStatus.BUSY),
        ("PRINTING", PrinterStatus.PRINTING),
        ("PAUSED", PrinterStatus.PAUSED),
        ("FINISHED", PrinterStatus.BUSY),
        ("STOPPED", PrinterStatus.BUSY),
        ("ERROR", PrinterStatus.ERROR),
        ("ATTENTION", PrinterStatus.ERROR),
        ("SOMETHING_NEW", PrinterStatus.BUSY),
    ],
)
def test_prusalink_states_map_to_ours(state: str, expected: PrinterStatus) -> None:
    assert printer_status(observe(status(state)))[0] is expected


def test_attention_says_why_from_prusalinks_condition() -> None:
    obs = observe(status("ATTENTION", condition={"ok": False, "message": "Filament runout"}))
    assert printer_status(obs) == (
        PrinterStatus.ERROR,
        "the printer needs attention: Filament runout",
    )


def test_temperatures_and_garbage() -> None:
    temps = temperatures_from(status("IDLE"))
    assert (temps.hotend_c, temps.hotend_target_c, temps.bed_c, temps.bed_target_c) == (
        214.9,
        215.0,
        60.1,
        60.0,
    )
    obs = observe({"printer": {"state": 3}, "job": {"id": "x", "progress": "?"}})
    assert (obs.state, obs.link_job_id, obs.progress_pct) == ("", None, 0.0)


class Harness:
    def __init__(self, grace_s: float = 5.0) -> None:
        self.events: list[DriverEvent] = []
        self.published: list[tuple[PrinterStatus, str | None, JobProgress | None]] = []
        self.memory = InMemoryJobMemory[PrusaLinkJob]()
        self.grace_s = grace_s
        self.tracker = JobTracker(
            self.memory, self.events.append, self.publish, end_grace_s=grace_s
        )

    async def started(self, rec: PrusaLinkJob) -> None:
        """Our job begun and its start answered by PrusaLink, as the driver does."""
        await self.tracker.begin(rec)
        self.tracker.start_answered(self.grace_s)

    def publish(self, status: PrinterStatus, message: str | None, job: JobProgress | None) -> None:
        self.published.append((status, message, job))

    async def prusalink(self, state: str, job_id: int | None = None, **job: Any) -> None:
        await self.tracker.observe(observe(status(state, job_id, **job)))


async def test_our_job_from_start_to_finished_with_a_pause() -> None:
    h = Harness()
    await h.prusalink("FINISHED", 6)  # the last print's result, still shown
    await h.started(PrusaLinkJob("job_1", "apf-x.gcode", time.time(), None, 6))
    await h.prusalink("FINISHED", 6)  # not ours: an older job id
    assert h.events == []
    await h.prusalink("PRINTING", 7, progress=40.0, time_remaining=300)
    assert h.published[-1][2] == JobProgress("job_1", 40.0, 10.0, 300.0)
    assert (await h.memory.get() or PrusaLinkJob("", "", 0)).link_job_id == 7
    await h.prusalink("PAUSED", 7)
    await h.prusalink("PRINTING", 7)
    # PrusaLink's status drops the job once it has ended.
    await h.prusalink("FINISHED")
    assert [type(e) for e in h.events] == [JobPaused, JobResumed, JobCompleted]
    completed = h.events[-1]
    assert isinstance(completed, JobCompleted) and completed.job_id == "job_1"
    # PrusaLink keeps FINISHED for a while: busy, not idle, until it clears.
    await h.prusalink("IDLE")
    assert [p[0] for p in h.published[-2:]] == [PrinterStatus.BUSY, PrinterStatus.IDLE]


async def test_a_stop_we_asked_for_is_a_cancel_and_one_we_did_not_a_failure() -> None:
    for asked, expected in ((True, JobCancelled), (False, JobFailed)):
        h = Harness()
        await h.started(PrusaLinkJob("job_1", "apf-x.gcode", time.time(), None, None))
        await h.prusalink("PRINTING", 3, progress=20.0)
        if asked:
            await h.tracker.note_cancel_requested()
        await h.prusalink("STOPPED", 3)
        assert [type(e) for e in h.events] == [expected]


async def test_attention_keeps_the_job_and_an_error_fails_it_with_the_reason() -> None:
    h = Harness()
    await h.started(PrusaLinkJob("job_1", "apf-x.gcode", time.time(), None, None))
    await h.prusalink("PRINTING", 3)
    runout = {"ok": False, "message": "Filament runout"}
    await h.prusalink("ATTENTION", 3, condition=runout)
    assert h.events == [] and h.published[-1][:2] == (
        PrinterStatus.ERROR,
        "the printer needs attention: Filament runout",
    )
    await h.prusalink("ERROR", 3, condition={"ok": False, "message": "Heater thermal runaway"})
    failed = h.events[0]
    assert isinstance(failed, JobFailed)
    assert failed.reason == "PrusaLink reports a printer error: Heater thermal runaway"


async def test_a_job_prusalink_lost_fails_after_the_grace_and_a_foreign_one_is_busy() -> None:
    h = Harness(grace_s=0.0)
    await h.started(PrusaLinkJob("job_1", "apf-x.gcode", time.time(), 3, None))
    await h.prusalink("IDLE")
    failed = h.events[0]
    assert isinstance(failed, JobFailed) and "PrusaLink" in failed.reason
    await h.prusalink("PRINTING", 9)
    await h.prusalink("PRINTING", 9)
    assert h.events[1:] == [ForeignJobSeen(name="PrusaLink job 9")]
    assert h.published[-1][0] is PrinterStatus.BUSY


def test_the_firmwares_unknown_time_left_is_none() -> None:
    # Prusa-Firmware's 65535 minutes ("not known yet"), as PrusaLink passes it on.
    assert observe(status("PRINTING", 1, time_remaining=3932100)).remaining_s is None
    assert observe(status("PRINTING", 1, time_remaining=60)).remaining_s == 60.0


async def test_our_job_busy_homing_or_heating_goes_on_past_the_grace() -> None:
    h = Harness(grace_s=0.0)
    await h.started(PrusaLinkJob("job_1", "apf-x.gcode", time.time(), None, 4))
    # PrusaLink says BUSY while the start G-code homes; the job is already shown.
    await h.prusalink("BUSY", 5)
    await h.prusalink("BUSY", 5)
    assert h.events == [] and h.tracker.job is not None
    assert h.published[-1][0] is PrinterStatus.PRINTING


async def test_a_print_that_ran_and_ended_before_its_start_was_answered_completes() -> None:
    # PrusaLink on a busy host answered the start late; the polls meanwhile showed the
    # print run and end. Nothing is reported before the answer, then the end is.
    h = Harness(grace_s=0.0)
    await h.prusalink("IDLE")
    before = len(h.published)
    await h.tracker.begin(PrusaLinkJob("job_1", "apf-x.gcode", time.time(), None, 6))
    await h.prusalink("IDLE")  # from before the start took effect: says nothing
    await h.prusalink("FINISHED")  # the last print's result, still shown: not ours
    await h.prusalink("PRINTING", 7, progress=50.0)
    await h.prusalink("FINISHED")  # PrusaLink drops an ended job from its status
    await h.prusalink("IDLE")  # the result is no longer shown by the time of the answer
    assert h.events == [] and len(h.published) == before
    assert h.tracker.shown and h.tracker.progress_so_far("job_1").progress_pct == 50.0
    h.tracker.start_answered(30.0)
    await h.prusalink("IDLE")
    assert [type(e) for e in h.events] == [JobCompleted]
    assert h.tracker.job is None and await h.memory.get() is None


async def test_statuses_before_an_unanswered_start_fail_nothing() -> None:
    # Without the answer, a status lacking our job is one from before the start: the job
    # is failed only once the answer is given up on and the status still lacks it.
    h = Harness(grace_s=0.0)
    await h.tracker.begin(PrusaLinkJob("job_1", "apf-x.gcode", time.time(), None, 6))
    for state in ("IDLE", "FINISHED", "IDLE"):
        await h.prusalink(state)
    assert h.events == [] and h.tracker.job is not None
    h.tracker.start_answered(0.0)
    await h.prusalink("IDLE")
    failed = h.events[0]
    assert isinstance(failed, JobFailed)
    assert failed.reason == "PrusaLink never showed the print it was asked to start"
