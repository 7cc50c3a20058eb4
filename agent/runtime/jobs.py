"""Job bookkeeping: the in-flight record of each printer's job and its events.

Exactly once, also across crashes: a job is recorded before the driver starts it; its
outcome event and the removal of the record commit in one transaction. An outcome for a
job that is no longer recorded was already reported and is dropped (a driver that
re-attaches after a restart may report the same end again). Filament used is the file's
estimate, scaled by progress for a print that did not finish.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import aiosqlite

from agent.drivers.base import JobProgress
from agent.runtime import convert
from agent.runtime.ledger import JobRecord, Ledger, forget_job_in
from agent.runtime.reporter import Reporter
from agent.sync.outbox import EventFactory, ExtraWrite, RowKind
from shared.wire import (
    Event,
    JobCancelledEvent,
    JobCompletedEvent,
    JobFailedEvent,
    JobPausedEvent,
    JobResumedEvent,
    JobStartedEvent,
)

log = logging.getLogger(__name__)

# Progress is saved with the in-flight record this often, so a job failed by a restart
# reports roughly how far it got.
PROGRESS_SAVE_INTERVAL_S = 30.0
AGENT_RESTARTED = "agent restarted: the print stopped when the agent stopped"
AGENT_STOPPED = "agent stopped during the print: the printer stops without its host"


class JobBook:
    def __init__(self, ledger: Ledger, reporter: Reporter) -> None:
        self._ledger = ledger
        self._reporter = reporter
        self._progress_saved_at: dict[str, float] = {}

    async def current(self, printer_id: str) -> JobRecord | None:
        return await self._ledger.job(printer_id)

    async def begin(self, record: JobRecord) -> None:
        await self._ledger.record_job(record)
        log.info("printer %s: job %s recorded as in flight", record.printer_id, record.job_id)

    async def started(self, printer_id: str, job_id: str) -> None:
        record = await self._ledger.job(printer_id)
        if record is None or record.job_id != job_id:
            log.info("printer %s: job %s started but is not ours or is over", printer_id, job_id)
            return
        if record.detail.get("started_reported"):
            log.info("printer %s: re-attached to job %s", printer_id, job_id)
            return
        detail = json.dumps({**record.detail, "started_reported": True})

        async def mark(db: aiosqlite.Connection) -> None:
            await db.execute(
                "UPDATE jobs SET detail = ? WHERE printer_id = ? AND job_id = ?",
                (detail, printer_id, job_id),
            )

        await self._reporter.event(
            lambda seq, eid: JobStartedEvent(
                event_id=eid, seq=seq, ts=convert.utc_now(), printer_id=printer_id, job_id=job_id
            ),
            RowKind.JOB,
            also=mark,
        )

    async def paused_or_resumed(self, printer_id: str, job_id: str, *, paused: bool) -> None:
        def build(seq: int, eid: str) -> Event:
            kind = JobPausedEvent if paused else JobResumedEvent
            return kind(
                event_id=eid, seq=seq, ts=convert.utc_now(), printer_id=printer_id, job_id=job_id
            )

        await self._reporter.event(build, RowKind.JOB)

    async def completed(self, printer_id: str, job_id: str, duration_s: float) -> None:
        record = await self._ours(printer_id, job_id, "completed")
        if record is None:
            return
        filament = record.filament_mm
        await self._outcome(
            lambda seq, eid: JobCompletedEvent(
                event_id=eid,
                seq=seq,
                ts=convert.utc_now(),
                printer_id=printer_id,
                job_id=job_id,
                duration_s=max(0.0, duration_s),
                filament_used_mm=filament,
            ),
            printer_id,
            job_id,
        )

    async def failed(
        self, printer_id: str, job_id: str, reason: str, progress_pct: float, duration_s: float
    ) -> None:
        record = await self._ours(printer_id, job_id, "failed")
        if record is not None:
            await self._report_failed(record, reason, progress_pct, duration_s)

    async def cancelled(
        self, printer_id: str, job_id: str, progress_pct: float, duration_s: float
    ) -> None:
        record = await self._ours(printer_id, job_id, "cancelled")
        if record is None:
            return
        progress = _clamp(progress_pct)
        filament = _partial(record.filament_mm, progress)
        await self._outcome(
            lambda seq, eid: JobCancelledEvent(
                event_id=eid,
                seq=seq,
                ts=convert.utc_now(),
                printer_id=printer_id,
                job_id=job_id,
                progress=progress,
                duration_s=max(0.0, duration_s),
                filament_used_mm=filament,
            ),
            printer_id,
            job_id,
        )

    async def fail_current(self, printer_id: str, reason: str) -> bool:
        """Report the printer's in-flight job failed (if any); True if there was one."""
        record = await self._ledger.job(printer_id)
        if record is None:
            return False
        progress = float(str(record.detail.get("progress", 0.0)))
        await self._report_failed(record, reason, progress, time.time() - record.started_at)
        return True

    async def abandon(self, printer_id: str, job_id: str, reason: str) -> None:
        """The driver could not start the job: forget it, and fail it if it was announced."""
        record = await self._ledger.job(printer_id)
        if record is None or record.job_id != job_id:
            return
        if record.detail.get("started_reported"):
            await self._report_failed(record, reason, 0.0, time.time() - record.started_at)
        else:
            await self._ledger.forget_job(printer_id)

    async def note_progress(self, printer_id: str, job: JobProgress | None) -> None:
        if job is None:
            return
        now = time.monotonic()
        if now - self._progress_saved_at.get(printer_id, 0.0) < PROGRESS_SAVE_INTERVAL_S:
            return
        self._progress_saved_at[printer_id] = now
        record = await self._ledger.job(printer_id)
        if record is None or record.job_id != job.job_id:
            return
        detail = {**record.detail, "progress": _clamp(job.progress_pct)}
        await self._ledger.record_job(
            JobRecord(
                printer_id=record.printer_id,
                job_id=record.job_id,
                driver_kind=record.driver_kind,
                started_at=record.started_at,
                filament_mm=record.filament_mm,
                detail=detail,
            )
        )

    async def recover_after_restart(
        self, keep: Callable[[JobRecord], bool], reason: str = AGENT_RESTARTED
    ) -> list[JobRecord]:
        """Fail every in-flight job that `keep` does not keep; returns the failed ones."""
        failed = []
        for record in await self._ledger.jobs():
            if keep(record):
                log.info(
                    "printer %s: job %s was in flight; its driver will re-attach",
                    record.printer_id,
                    record.job_id,
                )
                continue
            progress = float(str(record.detail.get("progress", 0.0)))
            await self._report_failed(record, reason, progress, time.time() - record.started_at)
            failed.append(record)
        return failed

    async def _outcome(self, build: EventFactory, printer_id: str, job_id: str) -> None:
        try:
            await self._reporter.event(build, RowKind.JOB, also=_forget(printer_id, job_id))
        except AlreadyReported as exc:
            log.info("%s; not reported again", exc)

    async def _ours(self, printer_id: str, job_id: str, what: str) -> JobRecord | None:
        record = await self._ledger.job(printer_id)
        if record is None or record.job_id != job_id:
            log.info("printer %s: job %s %s was already reported", printer_id, job_id, what)
            return None
        return record

    async def _report_failed(
        self, record: JobRecord, reason: str, progress_pct: float, duration_s: float
    ) -> None:
        progress = _clamp(progress_pct)
        filament = _partial(record.filament_mm, progress)
        pid, job_id = record.printer_id, record.job_id
        log.warning("printer %s: job %s failed: %s", pid, job_id, reason)
        await self._outcome(
            lambda seq, eid: JobFailedEvent(
                event_id=eid,
                seq=seq,
                ts=convert.utc_now(),
                printer_id=pid,
                job_id=job_id,
                reason=reason,
                progress=progress,
                duration_s=max(0.0, duration_s),
                filament_used_mm=filament,
            ),
            pid,
            job_id,
        )


class AlreadyReported(Exception):
    """The job's record was gone when its outcome was written: the outcome is rolled back."""


def _forget(printer_id: str, job_id: str) -> ExtraWrite:
    async def forget(db: aiosqlite.Connection) -> None:
        if await forget_job_in(db, printer_id, job_id) == 0:
            raise AlreadyReported(f"job {job_id} on {printer_id} was already reported")

    return forget


def _clamp(progress_pct: float) -> float:
    return min(100.0, max(0.0, progress_pct))


def _partial(filament_mm: float | None, progress_pct: float) -> float | None:
    return None if filament_mm is None else filament_mm * progress_pct / 100.0
