"""What OctoPrint's reports mean for the one job this driver started.

`JobTracker` gets every observation (push `current`, REST poll) and every print event, and
turns them into the snapshot's status/job and the job events: paused/resumed, the end of
our job (from the live event, or from OctoPrint's print history when the event was
missed), a print somebody else started (`ForeignJobSeen`, busy). Its record lives in the
`JobMemory`, so a new driver instance picks up where the last one stopped.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from agent.drivers.base import (
    DriverEvent,
    ForeignJobSeen,
    JobProgress,
)
from agent.drivers.job_events import Outcome, end_event, pause_event
from agent.drivers.memory import JobMemory
from agent.drivers.octoprint.client import OctoPrintClient, OctoPrintConflict, OctoPrintError
from agent.drivers.octoprint.jobs import JobRecord, logged_outcome
from agent.drivers.octoprint.models import JobInfo, PrinterState, ProgressInfo, PushEvent
from agent.drivers.octoprint.state import job_progress, message_for, status_from_state
from shared.enums import PrinterStatus

logger = logging.getLogger(__name__)

Publish = Callable[[PrinterStatus, "str | None", "JobProgress | None"], None]
_JOB_STATUSES = (PrinterStatus.PRINTING, PrinterStatus.PAUSED)


class JobTracker:
    def __init__(
        self,
        memory: JobMemory[JobRecord],
        emit: Callable[[DriverEvent], None],
        publish: Publish,
        *,
        end_grace_s: float,
        delete_finished_uploads: bool,
    ) -> None:
        self._memory = memory
        self._emit = emit
        self._publish = publish
        self._end_grace_s = end_grace_s
        self._delete_uploads = delete_finished_uploads
        # Serialises observations, events and commands that touch the record.
        self.lock = asyncio.Lock()
        self.job: JobRecord | None = None
        self.foreign_path: str | None = None
        self._loaded = False
        self._job_status: PrinterStatus | None = None
        self._start_pending_until = -math.inf
        self._inactive_since: float | None = None
        self._last_progress: JobProgress | None = None
        # OctoPrint became unreachable while our job ran (restart, crash, network).
        self._lost_contact = False
        # Our last job's file and when it ended: a report made just before the end can
        # arrive just after it (a push message or a poll in flight), still "Printing" it.
        self._ended: tuple[str, float] | None = None
        # Finished uploads OctoPrint would not delete yet: it answers 409 while the file is
        # still the one it prints, which it may be for a moment after `PrintDone`.
        self._leftover_uploads: list[str] = []

    async def load(self) -> None:
        """Read the record once per driver instance (after an agent restart: re-attach)."""
        if not self._loaded:
            self.job = await self._memory.get()
            self._loaded = True

    def lost_contact(self) -> None:
        self._lost_contact = self._lost_contact or self.job is not None

    # --- starting and cancelling (called with `lock` held) -------------------------------

    async def begin(self, rec: JobRecord) -> None:
        await self._memory.set(rec)
        self.job, self._job_status = rec, PrinterStatus.PRINTING
        self._inactive_since = None
        # OctoPrint's state may lag our start by a message or two.
        self._start_pending_until = time.monotonic() + self._end_grace_s
        self._last_progress = JobProgress(rec.job_id, 0.0, 0.0, None)

    async def abandon(self) -> None:
        """The start failed: forget the record."""
        await self._memory.clear()
        self.job = self._job_status = None

    async def note_cancel_requested(self) -> None:
        rec = self.job
        if rec is not None and not rec.cancel_requested:
            # If the cancel's event is missed, OctoPrint's history only says "failure"
            # (it logs a cancel as one), so remember that we asked for it.
            self.job = JobRecord(rec.job_id, rec.path, rec.prints_before, rec.started_at, True)
            await self._memory.set(self.job)

    # --- what OctoPrint tells us ---------------------------------------------------------

    async def observe(
        self,
        client: OctoPrintClient,
        state: PrinterState,
        job: JobInfo,
        progress: ProgressInfo,
    ) -> None:
        async with self.lock:
            status = status_from_state(state)
            active = (
                status in _JOB_STATUSES
                or state.text == "Cancelling"
                or bool(state.flags and state.flags.cancelling)
            )
            path = job.file.path if active else None
            rec = self.job
            if rec is not None and active and path == rec.path:
                self._inactive_since = None
                self._start_pending_until = -math.inf
                self._transition(rec, status)
                elapsed_s = time.time() - rec.started_at
                self._last_progress = job_progress(rec.job_id, progress, job.file.size, elapsed_s)
                self._publish(status, None, self._last_progress)
                return
            if rec is not None and not await self._resolve_ended(client, rec, status, state):
                return
            if active and self._reports_ended_job(path):
                return  # not somebody else's print: ours, in a report older than its end
            if active:
                self._foreign(job, path)
                return
            self.foreign_path = None
            self._publish(status, message_for(status, state.text, state.error), None)
            if self._leftover_uploads and not active:
                await self._remove_leftover_uploads(client)

    async def on_event(self, client: OctoPrintClient, event: PushEvent) -> None:
        """Live print events give the exact outcome (printer/standard.py fires them)."""
        payload: dict[str, Any] = event.payload or {}
        async with self.lock:
            rec = self.job
            if rec is None or payload.get("path") != rec.path:
                return
            time_s = payload.get("time")
            duration_s = float(time_s) if isinstance(time_s, int | float) else None
            if event.type in ("PrintPaused", "PrintResumed"):
                # A pause and resume quicker than two state messages shows only here.
                paused = event.type == "PrintPaused"
                self._transition(rec, PrinterStatus.PAUSED if paused else PrinterStatus.PRINTING)
            elif event.type == "PrintDone":
                await self._finish(client, rec, success=True, duration_s=duration_s)
            elif event.type == "PrintCancelled":
                await self._finish(client, rec, success=False, duration_s=duration_s, cancel=True)
            elif event.type == "PrintFailed" and payload.get("reason") != "cancelled":
                # reason "cancelled" follows PrintCancelled, which was already handled.
                detail = payload.get("error") or "the print failed"
                await self._finish(
                    client, rec, success=False, duration_s=duration_s, reason=f"OctoPrint: {detail}"
                )

    def _reports_ended_job(self, path: str | None) -> bool:
        ended = self._ended
        return (
            ended is not None
            and path == ended[0]
            and time.monotonic() - ended[1] < self._end_grace_s
        )

    def _foreign(self, job: JobInfo, path: str | None) -> None:
        name = job.file.name or path or "an unknown file"
        if path != self.foreign_path:
            self.foreign_path = path
            logger.info("OctoPrint prints %r, which was not started by us", name)
            self._emit(ForeignJobSeen(name=name))
        message = f"OctoPrint is printing {name!r}, which AutoPrintFarm did not start"
        self._publish(PrinterStatus.BUSY, message, None)

    def _transition(self, rec: JobRecord, status: PrinterStatus) -> None:
        before, self._job_status = self._job_status, status
        if (event := pause_event(rec.job_id, before, status)) is not None:
            self._emit(event)

    async def _resolve_ended(
        self, client: OctoPrintClient, rec: JobRecord, status: PrinterStatus, state: PrinterState
    ) -> bool:
        """Our job is not what OctoPrint prints: decide how it ended. True once decided."""
        outcome = logged_outcome(rec, await client.file_info(rec.path))
        if outcome is not None:
            await self._finish(
                client, rec, success=outcome.success, duration_s=outcome.print_time_s
            )
            return True
        now = time.monotonic()
        if now < self._start_pending_until:
            return False
        if self._inactive_since is None:
            self._inactive_since = now
        if now - self._inactive_since < self._end_grace_s:
            # OctoPrint logs the outcome from a thread after the event; give it a moment.
            return False
        if self._lost_contact:
            reason = "OctoPrint went away mid-print (restarted or crashed); the print stopped"
        elif status is PrinterStatus.OFFLINE:
            reason = (
                "OctoPrint lost its printer mid-print (OctoPrint restarted or the printer"
                " was disconnected)"
            )
        elif status is PrinterStatus.ERROR:
            reason = f"printer error in OctoPrint: {state.error or state.text}"
        else:
            reason = "the print stopped in OctoPrint without a recorded result"
        await self._finish(client, rec, success=False, duration_s=None, reason=reason)
        return True

    async def _finish(
        self,
        client: OctoPrintClient,
        rec: JobRecord,
        *,
        success: bool,
        duration_s: float | None,
        cancel: bool = False,
        reason: str = "the print failed in OctoPrint",
    ) -> None:
        """Report the job's end once, forget it, and remove its upload."""
        if self.job is not rec:
            return
        duration_s = duration_s if duration_s is not None else time.time() - rec.started_at
        last = self._last_progress
        pct = last.progress_pct if last is not None and last.job_id == rec.job_id else 0.0
        await self._memory.clear()
        self._ended = (rec.path, time.monotonic())
        self.job, self._job_status, self._inactive_since = None, None, None
        self._last_progress, self._lost_contact = None, False
        if success:
            outcome = Outcome.COMPLETED
        elif cancel or rec.cancel_requested:
            outcome = Outcome.CANCELLED
        else:
            outcome = Outcome.FAILED
        self._emit(
            end_event(rec.job_id, outcome, duration_s=duration_s, progress_pct=pct, reason=reason)
        )
        if self._delete_uploads:
            self._leftover_uploads.append(rec.path)
            await self._remove_leftover_uploads(client)

    async def _remove_leftover_uploads(self, client: OctoPrintClient) -> None:
        """Delete our finished uploads; one OctoPrint still calls in use is tried again at
        the next report of an idle printer. Any other failure leaves the file (a person may
        have deleted it, or OctoPrint went away): nothing depends on its removal."""
        for path in list(self._leftover_uploads):
            try:
                await client.delete_file(path)
            except OctoPrintConflict:
                logger.debug("OctoPrint still uses %s; its removal waits", path)
                continue
            except OctoPrintError as exc:
                logger.info("finished upload %s not removed from OctoPrint: %s", path, exc)
            self._leftover_uploads.remove(path)
