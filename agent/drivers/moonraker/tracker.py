"""What Klipper's reports mean for the one job this driver started.

`JobTracker` gets every observation (websocket push or REST poll) and turns it into the
snapshot's status and job, and into the job events: paused/resumed, the job's end (from
`print_stats` when it shows our file ended, else from Moonraker's print history by the
entry recorded at start), and a print somebody else started (`ForeignJobSeen`, busy).
Its record lives in the `JobMemory`, so a new driver instance (after Moonraker or the
agent restarted) re-attaches to the job instead of taking it for a foreign print.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from agent.drivers.base import (
    DriverEvent,
    ForeignJobSeen,
    JobProgress,
)
from agent.drivers.job_events import Outcome, end_event, pause_event
from agent.drivers.memory import JobMemory
from agent.drivers.moonraker.state import (
    ENDED_STATES,
    JOB_STATES,
    Observation,
    first_line,
    job_progress,
    printer_status,
)
from shared.enums import PrinterStatus

logger = logging.getLogger(__name__)

Publish = Callable[[PrinterStatus, "str | None", "JobProgress | None"], None]
# Looks up one entry of Moonraker's history by its id; None when there is none.
HistoryLookup = Callable[[str], Awaitable["dict[str, Any] | None"]]


@dataclass(frozen=True, slots=True)
class MoonrakerJob:
    """The durable record of the job this driver started (kept in the agent's store)."""

    job_id: str
    # The file's name under Moonraker's `gcodes` root.
    filename: str
    # Wall-clock start on the agent, for a duration when Klipper gives none.
    started_at: float
    # Moonraker's history entry of this print, when the history component runs.
    history_id: str | None = None
    # The slicer's estimate from Moonraker's metadata, for the time left.
    estimated_s: float | None = None
    cancel_requested: bool = False


# Moonraker's history statuses (components/history.py) other than completed/cancelled/
# in_progress, as a reason a person understands.
_HISTORY_FAILURES = {
    "error": "Klipper stopped the print with an error",
    "klippy_shutdown": "Klipper shut down mid-print",
    "klippy_disconnect": "Klipper restarted or crashed mid-print",
    "server_exit": "the print ended while Moonraker was stopped",
    "interrupted": "the print was interrupted (Moonraker or the host restarted)",
}


class JobTracker:
    def __init__(
        self,
        memory: JobMemory[MoonrakerJob],
        emit: Callable[[DriverEvent], None],
        publish: Publish,
        history_entry: HistoryLookup,
        *,
        end_grace_s: float,
    ) -> None:
        self._memory = memory
        self._emit = emit
        self._publish = publish
        self._history_entry = history_entry
        self._end_grace_s = end_grace_s
        # Serialises observations and the commands that touch the record.
        self.lock = asyncio.Lock()
        self.job: MoonrakerJob | None = None
        self.foreign_file: str | None = None
        self.on_job_end: Callable[[MoonrakerJob], None] = lambda _rec: None
        self._loaded = False
        self._job_status: PrinterStatus | None = None
        self._missing_since: float | None = None
        self._start_pending_until = -math.inf
        # Our print was seen printing or paused since this instance took the record: an
        # ended print_stats with our file is then ours, not a previous print of the file.
        self._seen_active = False
        self._last_progress: JobProgress | None = None

    async def load(self) -> None:
        """Read the record once per driver instance (after a restart: re-attach)."""
        if not self._loaded:
            self.job = await self._memory.get()
            self._loaded = True
            if self.job is not None:
                # A restarted Moonraker may take a moment to show Klipper's print again.
                self._start_pending_until = time.monotonic() + self._end_grace_s

    # --- starting and cancelling (called with `lock` held) -------------------------------

    async def begin(self, rec: MoonrakerJob) -> None:
        await self._memory.set(rec)
        self.job, self._job_status = rec, PrinterStatus.PRINTING
        self._missing_since, self._seen_active = None, False
        self._start_pending_until = time.monotonic() + self._end_grace_s
        self._last_progress = JobProgress(rec.job_id, 0.0, 0.0, None)

    async def update(self, rec: MoonrakerJob) -> None:
        if self.job is not None and self.job.job_id == rec.job_id:
            await self._memory.set(rec)
            self.job = rec

    async def abandon(self) -> None:
        """The start failed: forget the record."""
        await self._memory.clear()
        self.job = self._job_status = None

    async def note_cancel_requested(self) -> None:
        rec = self.job
        if rec is not None and not rec.cancel_requested:
            # A CANCEL_PRINT macro may reset print_stats to standby, leaving only the
            # history's "cancelled": remember that we asked.
            await self.update(replace(rec, cancel_requested=True))

    # --- what Klipper tells us -----------------------------------------------------------

    async def observe(self, obs: Observation) -> None:
        async with self.lock:
            rec = self.job
            if rec is not None and not await self._follow(rec, obs):
                return
            if obs.klippy == "ready" and obs.print_state in JOB_STATES:
                self._foreign(obs.filename)
                return
            self.foreign_file = None
            status, message = printer_status(obs)
            self._publish(status, message, None)

    async def _follow(self, rec: MoonrakerJob, obs: Observation) -> bool:
        """Track our job; True once it has ended (the printer is then reported as usual)."""
        now = time.monotonic()
        ours = obs.filename == rec.filename
        if obs.klippy in ("shutdown", "error"):
            reason = f"Klipper: {first_line(obs.klippy_message) or obs.klippy}"
            await self._finish(rec, Outcome.FAILED, reason=reason)
            return True
        if obs.klippy != "ready":
            # Klippy restarting or Moonraker without it: the print's fate shows once it is
            # back (a Klippy restart ends a print; the history says how).
            status, message = printer_status(obs)
            self._publish(status, message, self._last_progress)
            return False
        if ours and obs.print_state in JOB_STATES:
            self._missing_since, self._seen_active = None, True
            self._start_pending_until = -math.inf
            status = PrinterStatus.PAUSED if obs.print_state == "paused" else PrinterStatus.PRINTING
            self._transition(rec, status)
            self._last_progress = job_progress(rec.job_id, obs, rec.estimated_s)
            self._publish(status, None, self._last_progress)
            return False
        settled = self._seen_active or now >= self._start_pending_until
        if ours and obs.print_state in ENDED_STATES and settled:
            await self._finish_from_stats(rec, obs)
            return True
        if now < self._start_pending_until:
            self._publish(PrinterStatus.PRINTING, None, self._last_progress)
            return False
        # Our file is not what Klipper shows (standby after a reset, another file): ask the
        # history, and give Moonraker a moment to write it.
        entry = await self._history_entry(rec.history_id) if rec.history_id else None
        outcome = _history_outcome(entry)
        if outcome is None:
            self._missing_since = self._missing_since or now
            if now - self._missing_since < self._end_grace_s:
                return False
            outcome = (Outcome.FAILED, "the print stopped on the printer without a recorded result")
        duration = _number(entry.get("total_duration")) if entry else None
        await self._finish(rec, outcome[0], reason=outcome[1], duration_s=duration)
        return True

    async def _finish_from_stats(self, rec: MoonrakerJob, obs: Observation) -> None:
        if obs.print_state == "complete":
            await self._finish(rec, Outcome.COMPLETED, duration_s=obs.total_duration_s)
        elif obs.print_state == "cancelled":
            await self._finish(rec, Outcome.CANCELLED, duration_s=obs.total_duration_s)
        else:
            reason = f"Klipper: {obs.print_message or 'the print stopped with an error'}"
            await self._finish(rec, Outcome.FAILED, reason=reason, duration_s=obs.total_duration_s)

    def _foreign(self, filename: str) -> None:
        name = filename or "an unknown file"
        if filename != self.foreign_file:
            self.foreign_file = filename
            logger.info("Klipper prints %r, which was not started by us", name)
            self._emit(ForeignJobSeen(name=name))
        message = f"Klipper is printing {name!r}, which AutoPrintFarm did not start"
        self._publish(PrinterStatus.BUSY, message, None)

    def _transition(self, rec: MoonrakerJob, status: PrinterStatus) -> None:
        before, self._job_status = self._job_status, status
        if (event := pause_event(rec.job_id, before, status)) is not None:
            self._emit(event)

    async def _finish(
        self,
        rec: MoonrakerJob,
        outcome: Outcome,
        *,
        reason: str = "the print failed",
        duration_s: float | None = None,
    ) -> None:
        """Report the job's end once and forget it."""
        if self.job is not rec:
            return
        if not duration_s:
            duration_s = max(0.0, time.time() - rec.started_at)
        last = self._last_progress
        pct = last.progress_pct if last is not None and last.job_id == rec.job_id else 0.0
        await self._memory.clear()
        self.job, self._job_status, self._missing_since = None, None, None
        self._last_progress = None
        if rec.cancel_requested and outcome is Outcome.FAILED:
            outcome = Outcome.CANCELLED  # what a cancel we asked for ends as, however reported
        self._emit(
            end_event(rec.job_id, outcome, duration_s=duration_s, progress_pct=pct, reason=reason)
        )
        self.on_job_end(rec)


def _history_outcome(entry: dict[str, Any] | None) -> tuple[Outcome, str] | None:
    """(completed | cancelled | failed, reason) from a history entry; None if not over."""
    if entry is None:
        return None
    status = entry.get("status")
    if status == "completed":
        return Outcome.COMPLETED, ""
    if status == "cancelled":
        return Outcome.CANCELLED, ""
    if isinstance(status, str) and status in _HISTORY_FAILURES:
        return Outcome.FAILED, _HISTORY_FAILURES[status]
    return None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
