"""What a Bambu printer's reports mean for the one job this driver started.

`JobTracker` gets the merged report after every message and turns it into the snapshot's
status and job and into the job events. A printer has no job ids of its own: our job is
the print whose file (`gcode_file`) or name (`subtask_name`) is the one we started, seen in
PREPARE, RUNNING or PAUSE. Its end is FINISH (completed) or FAILED (cancelled when the
printer gives the user-cancel code or we asked to stop; else failed with the printer's
reason). Two traps, both real:
- Right after a start the printer still shows the last print's FINISH or IDLE for a
  moment, possibly with the same file name (a reprint): nothing ends our job until it was
  seen printing, or `end_grace_s` has passed; and what the printer showed before the start
  (`BambuJob.before`, `error_before`) is never taken for our job's end.
- A printer that restarts loses its print and comes back IDLE: a job seen printing that
  the printer no longer shows has failed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from agent.drivers.bambu.state import (
    CANCELLED_ERROR,
    Observation,
    job_progress,
    print_error_message,
    printer_status,
)
from agent.drivers.base import DriverEvent, ForeignJobSeen, JobProgress
from agent.drivers.job_events import Outcome, end_event, pause_event
from agent.drivers.memory import JobMemory
from shared.enums import PrinterStatus

logger = logging.getLogger(__name__)

Publish = Callable[[PrinterStatus, "str | None", "JobProgress | None"], None]
ACTIVE = frozenset({"PREPARE", "RUNNING", "PAUSE", "SLICING"})
ENDED = frozenset({"FINISH", "FAILED"})


@dataclass(frozen=True, slots=True)
class BambuJob:
    """The durable record of the job this driver started (kept in the agent's store)."""

    job_id: str
    # The file's name on the printer's card (content-named: apf-<sha>.gcode).
    filename: str
    started_at: float  # wall clock on the agent
    # What the printer showed just before the start (`baseline`) and its print_error then:
    # a FINISH of the same file (a reprint) or an old error is not this job's end.
    before: str = ""
    error_before: int = 0
    seen_printing: bool = False
    cancel_requested: bool = False


def _stem(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    for suffix in (".gcode.3mf", ".3mf", ".gcode"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def baseline(obs: Observation) -> str:
    """The printer's state and file, to tell a new result from the one it showed before."""
    return f"{obs.gcode_state}:{_stem(obs.gcode_file) or obs.subtask_name}"


def shows(rec: BambuJob, obs: Observation) -> bool:
    """Whether the printer's current or last print is the file of `rec`."""
    stem = _stem(rec.filename)
    return _stem(obs.gcode_file) == stem or obs.subtask_name == stem


class JobTracker:
    def __init__(
        self,
        memory: JobMemory[BambuJob],
        emit: Callable[[DriverEvent], None],
        publish: Publish,
        *,
        end_grace_s: float,
        ended: Callable[[BambuJob], None] = lambda rec: None,
    ) -> None:
        self._memory = memory
        self._ended = ended
        self._emit = emit
        self._publish = publish
        self._end_grace_s = end_grace_s
        self.lock = asyncio.Lock()
        self.job: BambuJob | None = None
        self.foreign_job: str | None = None
        self._loaded = False
        self._job_status: PrinterStatus | None = None
        self._pending_until = -math.inf
        self._last_progress: JobProgress | None = None

    async def load(self) -> None:
        if not self._loaded:
            self.job = await self._memory.get()
            self._loaded = True
            if self.job is not None:
                self._pending_until = time.monotonic() + self._end_grace_s

    async def begin(self, rec: BambuJob) -> None:
        await self._memory.set(rec)
        self.job, self._job_status = rec, PrinterStatus.PRINTING
        self._pending_until = time.monotonic() + self._end_grace_s
        self._last_progress = JobProgress(rec.job_id, 0.0, 0.0, None)

    async def abandon(self) -> None:
        await self._memory.clear()
        self.job = self._job_status = None

    async def note_cancel_requested(self) -> None:
        rec = self.job
        if rec is not None and not rec.cancel_requested:
            await self._set(replace(rec, cancel_requested=True))

    async def note_cancel_refused(self) -> None:
        """The printer refused the stop: a later end is not a cancel."""
        rec = self.job
        if rec is not None and rec.cancel_requested:
            await self._set(replace(rec, cancel_requested=False))

    async def _set(self, rec: BambuJob) -> None:
        await self._memory.set(rec)
        self.job = rec

    # --- what the printer tells us -------------------------------------------------------

    async def observe(self, obs: Observation) -> None:
        async with self.lock:
            rec = self.job
            if rec is not None and not await self._follow(rec, obs):
                return
            if obs.gcode_state in ACTIVE:
                self._foreign(obs.subtask_name or _stem(obs.gcode_file) or "unnamed")
                return
            self.foreign_job = None
            status, message = printer_status(obs)
            self._publish(status, message, None)

    async def _follow(self, rec: BambuJob, obs: Observation) -> bool:
        """Track our job; True once it has ended (the printer is then reported as usual)."""
        ours = shows(rec, obs)
        if ours and obs.gcode_state in ACTIVE:
            if not rec.seen_printing:
                rec = replace(rec, seen_printing=True)
                await self._set(rec)
            self._pending_until = -math.inf
            self._track(rec, obs)
            return False
        if time.monotonic() < self._pending_until:
            # The printer has not taken the file yet; what it shows is the last print.
            if obs.gcode_state == "IDLE" and obs.print_error not in (0, rec.error_before):
                # Accepted and then not printed: the printer says why (fact 8).
                await self._finish(rec, Outcome.FAILED, reason=_refused(obs))
                return True
            self._publish(PrinterStatus.PRINTING, None, self._last_progress)
            return False
        if ours and obs.gcode_state in ENDED:
            if rec.seen_printing or baseline(obs) != rec.before:
                await self._finish_as(rec, obs)
                return True
            # Still the result the printer showed before our start (a reprint's FINISH):
            # it acknowledged the start and never began.
            reason = "the printer acknowledged the start but did not begin the print"
        elif obs.gcode_state in ACTIVE:
            reason = f"the printer prints {obs.subtask_name or obs.gcode_file!r} instead"
        elif rec.seen_printing:
            reason = "the print ended without a result (the printer restarted or lost it)"
        else:
            fresh_error = obs.print_error not in (0, rec.error_before)
            reason = _refused(obs) if fresh_error else "the printer did not start the print"
        await self._finish(rec, Outcome.FAILED, reason=reason)
        return True

    def _track(self, rec: BambuJob, obs: Observation) -> None:
        status, message = printer_status(obs)
        if status not in (PrinterStatus.PAUSED, PrinterStatus.ERROR):
            status, message = PrinterStatus.PRINTING, None
        self._transition(rec, PrinterStatus.PAUSED if status is PrinterStatus.ERROR else status)
        self._last_progress = job_progress(rec.job_id, obs, time.time() - rec.started_at)
        self._publish(status, message, self._last_progress)

    async def _finish_as(self, rec: BambuJob, obs: Observation) -> None:
        # FINISH and FAILED keep the percent the print reached (README fact 9).
        self._last_progress = job_progress(rec.job_id, obs, time.time() - rec.started_at)
        if obs.gcode_state == "FINISH":
            await self._finish(rec, Outcome.COMPLETED)
        elif obs.print_error == CANCELLED_ERROR or rec.cancel_requested:
            await self._finish(
                rec,
                Outcome.CANCELLED if rec.cancel_requested else Outcome.FAILED,
                reason="the print was cancelled on the printer",
            )
        else:
            await self._finish(rec, Outcome.FAILED, reason=_refused(obs))

    def _foreign(self, name: str) -> None:
        if name != self.foreign_job:
            self.foreign_job = name
            logger.info("the printer prints %r, which was not started by us", name)
            self._emit(ForeignJobSeen(name=name))
        message = f"the printer prints {name!r}, which AutoPrintFarm did not start"
        self._publish(PrinterStatus.BUSY, message, None)

    def _transition(self, rec: BambuJob, status: PrinterStatus) -> None:
        before, self._job_status = self._job_status, status
        if (event := pause_event(rec.job_id, before, status)) is not None:
            self._emit(event)

    async def _finish(self, rec: BambuJob, outcome: Outcome, *, reason: str = "") -> None:
        if self.job is None or self.job.job_id != rec.job_id:
            return
        last = self._last_progress
        pct = last.progress_pct if last is not None and last.job_id == rec.job_id else 0.0
        await self._memory.clear()
        self.job, self._job_status, self._last_progress = None, None, None
        self._ended(rec)
        self._emit(
            end_event(
                rec.job_id,
                outcome,
                duration_s=max(0.0, time.time() - rec.started_at),
                progress_pct=pct,
                reason=reason or "the print failed",
            )
        )


def _refused(obs: Observation) -> str:
    return print_error_message(obs.print_error) or "the printer reports the print failed"
