"""What PrusaLink's status means for the one job this driver started.

`JobTracker` gets every polled status and turns it into the snapshot's status and job,
and into the job events: paused/resumed, the job's end (FINISHED, STOPPED, ERROR of our
job id), and a print somebody else started (`ForeignJobSeen`, busy). PrusaLink numbers
jobs; the record keeps ours (`PrusaLinkJob.link_job_id`, learnt from the first status
after the start) in the `JobMemory`, so a new driver instance re-attaches to it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from agent.drivers.base import (
    DriverEvent,
    ForeignJobSeen,
    JobProgress,
)
from agent.drivers.job_events import Outcome, end_event, pause_event
from agent.drivers.memory import JobMemory
from agent.drivers.prusalink.state import (
    ENDED_STATES,
    JOB_STATES,
    Observation,
    job_progress,
    printer_status,
)
from shared.enums import PrinterStatus

logger = logging.getLogger(__name__)

Publish = Callable[[PrinterStatus, "str | None", "JobProgress | None"], None]


@dataclass(frozen=True, slots=True)
class PrusaLinkJob:
    """The durable record of the job this driver started (kept in the agent's store)."""

    job_id: str
    # The file's name on PrusaLink's storage.
    filename: str
    # Wall-clock start on the agent, for a duration when PrusaLink gives none.
    started_at: float
    # PrusaLink's own job id, once its status showed our print.
    link_job_id: int | None = None
    # PrusaLink's job id before our start: a larger one is ours.
    link_job_before: int | None = None
    cancel_requested: bool = False


class JobTracker:
    def __init__(
        self,
        memory: JobMemory[PrusaLinkJob],
        emit: Callable[[DriverEvent], None],
        publish: Publish,
        *,
        end_grace_s: float,
    ) -> None:
        self._memory = memory
        self._emit = emit
        self._publish = publish
        self._end_grace_s = end_grace_s
        self.lock = asyncio.Lock()
        self.job: PrusaLinkJob | None = None
        self.foreign_job: int | None = None
        self._loaded = False
        self._job_status: PrinterStatus | None = None
        self._pending_until = -math.inf
        self._last_progress: JobProgress | None = None
        # PrusaLink's last job id seen, for the next start's `link_job_before`.
        self.last_link_job: int | None = None
        # Between `begin` and PrusaLink's answer to the start (which can take many seconds
        # on a busy host) the polls go on: they may show our print, even its end, before
        # the answer. Nothing is reported until then; an end seen meanwhile is kept here.
        self._start_unanswered = False
        self._end_before_answer: Observation | None = None

    async def load(self) -> None:
        if not self._loaded:
            self.job = await self._memory.get()
            self._loaded = True
            if self.job is not None:
                self._pending_until = time.monotonic() + self._end_grace_s

    async def begin(self, rec: PrusaLinkJob) -> None:
        """Our job, about to be started: call `start_answered` once PrusaLink answered."""
        await self._memory.set(rec)
        self.job, self._job_status = rec, PrinterStatus.PRINTING
        self._pending_until = time.monotonic() + self._end_grace_s
        self._last_progress = JobProgress(rec.job_id, 0.0, 0.0, None)
        self._start_unanswered, self._end_before_answer = True, None

    def start_answered(self, show_within_s: float) -> None:
        """PrusaLink took the start (or its answer is given up on): from now on the status
        decides, and our job may be missing from it for `show_within_s` more."""
        self._start_unanswered = False
        self.expect_within(show_within_s)

    def progress_so_far(self, job_id: str) -> JobProgress:
        last = self._last_progress
        if last is not None and last.job_id == job_id:
            return last
        return JobProgress(job_id, 0.0, 0.0, None)

    @property
    def shown(self) -> bool:
        """PrusaLink's status has shown our job."""
        return self.job is not None and self.job.link_job_id is not None

    def expect_within(self, seconds: float) -> None:
        """Our job may stay missing from the status this long from now (a start whose
        answer was lost shows up late, or never)."""
        self._pending_until = max(self._pending_until, time.monotonic() + seconds)

    async def abandon(self) -> None:
        await self._memory.clear()
        self.job = self._job_status = None
        self._start_unanswered, self._end_before_answer = False, None

    async def note_cancel_requested(self) -> None:
        rec = self.job
        if rec is not None and not rec.cancel_requested:
            await self._set(replace(rec, cancel_requested=True))

    async def _set(self, rec: PrusaLinkJob) -> None:
        await self._memory.set(rec)
        self.job = rec

    # --- what PrusaLink tells us ---------------------------------------------------------

    async def observe(self, obs: Observation) -> None:
        async with self.lock:
            if obs.link_job_id is not None:
                self.last_link_job = obs.link_job_id
            rec = self.job
            if rec is not None and not await self._follow(rec, obs):
                return
            if obs.state in JOB_STATES and obs.link_job_id is not None:
                self._foreign(obs.link_job_id)
                return
            self.foreign_job = None
            status, message = printer_status(obs)
            self._publish(status, message, None)

    def _is_ours(self, rec: PrusaLinkJob, link_job_id: int | None) -> bool:
        if link_job_id is None:
            return False
        if rec.link_job_id is not None:
            return link_job_id == rec.link_job_id
        return rec.link_job_before is None or link_job_id > rec.link_job_before

    async def _follow(self, rec: PrusaLinkJob, obs: Observation) -> bool:
        """Track our job; True once it has ended (the printer is then reported as usual)."""
        now = time.monotonic()
        if self._start_unanswered:
            await self._note_before_answer(rec, obs)
            return False
        if obs.state in ENDED_STATES and obs.link_job_id is None:
            # PrusaLink drops the job from its status once it has ended (web/main.py
            # `api_status`: a job only while not idle). It refused any start while the
            # last result was shown, so an end seen after ours began is ours.
            await self._finish_as(rec, obs)
            return True
        if self._is_ours(rec, obs.link_job_id):
            if rec.link_job_id is None:
                rec = replace(rec, link_job_id=obs.link_job_id)
                await self._set(rec)
            if obs.state in ENDED_STATES:
                await self._finish_as(rec, obs)
                return True
            # PRINTING, PAUSED, ATTENTION, and BUSY while the print homes or heats: PrusaLink
            # shows our job, so it goes on.
            self._pending_until = -math.inf
            self._track(rec, obs)
            return False
        if self._end_before_answer is not None:
            # Our print ran and ended while its start was still unanswered.
            await self._finish_as(rec, self._end_before_answer)
            return True
        if now < self._pending_until:
            self._publish(PrinterStatus.PRINTING, None, self._last_progress)
            return False
        # Our job is not PrusaLink's current one and showed no end: PrusaLink never began
        # it, or lost it (restarted; a PrusaLink on a Pi stops feeding the printer then).
        if rec.link_job_id is None:
            reason = "PrusaLink never showed the print it was asked to start"
        else:
            reason = "the print ended without a result PrusaLink kept (restarted?)"
        await self._finish(rec, Outcome.FAILED, reason=reason)
        return True

    async def _note_before_answer(self, rec: PrusaLinkJob, obs: Observation) -> None:
        """A status polled while the start is unanswered: learn our job's id and keep its
        end, if shown; report nothing (the start reports itself once answered)."""
        if obs.state in ENDED_STATES and obs.link_job_id is None:
            # PrusaLink drops an ended job from its status: once ours was shown, this end
            # is ours; before, it is the last print's result still on display.
            if rec.link_job_id is not None:
                self._end_before_answer = obs
            return
        if not self._is_ours(rec, obs.link_job_id):
            return
        if rec.link_job_id is None:
            await self._set(replace(rec, link_job_id=obs.link_job_id))
        if obs.state in ENDED_STATES:
            self._end_before_answer = obs
        elif obs.state in JOB_STATES:
            self._last_progress = job_progress(rec.job_id, obs, time.time() - rec.started_at)

    def _track(self, rec: PrusaLinkJob, obs: Observation) -> None:
        if obs.state == "ATTENTION":
            # Filament runout, a failed check …: the firmware waits for a person; the job
            # goes on once they have acted.
            status, message = printer_status(obs)
        else:
            status = PrinterStatus.PAUSED if obs.state == "PAUSED" else PrinterStatus.PRINTING
            message = None
            self._transition(rec, status)
        self._last_progress = job_progress(rec.job_id, obs, time.time() - rec.started_at)
        self._publish(status, message, self._last_progress)

    async def _finish_as(self, rec: PrusaLinkJob, obs: Observation) -> None:
        if obs.state == "FINISHED":
            await self._finish(rec, Outcome.COMPLETED, duration_s=obs.printing_s)
        elif obs.state == "STOPPED":
            await self._finish(
                rec,
                Outcome.CANCELLED if rec.cancel_requested else Outcome.FAILED,
                reason="the print was stopped on the printer",
                duration_s=obs.printing_s,
            )
        else:
            reason = f"PrusaLink reports a printer error: {obs.problem or 'see its screen'}"
            await self._finish(rec, Outcome.FAILED, reason=reason, duration_s=obs.printing_s)

    def _foreign(self, link_job_id: int) -> None:
        if link_job_id != self.foreign_job:
            self.foreign_job = link_job_id
            logger.info("PrusaLink prints job %s, which was not started by us", link_job_id)
            self._emit(ForeignJobSeen(name=f"PrusaLink job {link_job_id}"))
        message = (
            f"the printer prints PrusaLink job {link_job_id}, which AutoPrintFarm did not start"
        )
        self._publish(PrinterStatus.BUSY, message, None)

    def _transition(self, rec: PrusaLinkJob, status: PrinterStatus) -> None:
        before, self._job_status = self._job_status, status
        if (event := pause_event(rec.job_id, before, status)) is not None:
            self._emit(event)

    async def _finish(
        self,
        rec: PrusaLinkJob,
        outcome: Outcome,
        *,
        reason: str = "the print failed",
        duration_s: float | None = None,
    ) -> None:
        if self.job is None or self.job.job_id != rec.job_id:
            return
        if not duration_s:
            duration_s = max(0.0, time.time() - rec.started_at)
        last = self._last_progress
        pct = last.progress_pct if last is not None and last.job_id == rec.job_id else 0.0
        await self._memory.clear()
        self.job, self._job_status, self._last_progress = None, None, None
        self._end_before_answer = None
        self._emit(
            end_event(rec.job_id, outcome, duration_s=duration_s, progress_pct=pct, reason=reason)
        )
