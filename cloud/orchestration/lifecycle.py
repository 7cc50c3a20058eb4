"""A print's life as the agent reports it, applied to the print, its job and its printer.

Every function runs inside the caller's transaction and records the matching event in the
event log (which webhooks deliver), with the resource as the API returns it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud.context import CloudContext
from cloud.db.models import Job, Printer
from cloud.db.types import utcnow
from cloud.orchestration.materials import deduct_from_loaded_spool, grams_used
from cloud.orchestration.tables import PRINT_ACTIVE, PrintRun
from cloud.services.events import record_event
from cloud.services.jobs import job_out
from shared.enums import EventType, JobStatus

log = logging.getLogger(__name__)

Outcome = Literal["completed", "failed", "cancelled"]
_OUTCOME_EVENT = {
    "completed": EventType.JOB_COMPLETED,
    "failed": EventType.JOB_FAILED,
    "cancelled": EventType.JOB_CANCELLED,
}


async def active_print(
    session: AsyncSession, org_id: str, job_id: str, printer_id: str
) -> PrintRun | None:
    stmt = select(PrintRun).where(
        col(PrintRun.org_id) == org_id,
        col(PrintRun.job_id) == job_id,
        col(PrintRun.printer_id) == printer_id,
        col(PrintRun.status).in_(PRINT_ACTIVE),
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def _record_job(session: AsyncSession, app: CloudContext, job: Job, event_type: EventType) -> None:
    record_event(
        session, job.org_id, event_type, job.id, {"job": msgspec.to_builtins(job_out(job, app))}
    )


async def print_started(
    session: AsyncSession, app: CloudContext, run: PrintRun, at: datetime
) -> None:
    run.status = "printing"
    run.started_at = run.started_at or at
    job = await session.get(Job, run.job_id)
    if job is None:
        return
    if JobStatus(job.status) in (JobStatus.QUEUED, JobStatus.ASSIGNED, JobStatus.PAUSED):
        job.status = JobStatus.PRINTING.value
    job.started_at = job.started_at or at
    job.printer_id = run.printer_id
    job.progress = 0.0
    job.updated_at = utcnow()
    printer = await session.get(Printer, run.printer_id)
    if printer is not None:
        printer.current_job_id = job.id
    _record_job(session, app, job, EventType.JOB_STARTED)


async def print_paused(session: AsyncSession, run: PrintRun, *, paused: bool) -> None:
    run.status = "paused" if paused else "printing"
    job = await session.get(Job, run.job_id)
    if job is not None and JobStatus(job.status) in (JobStatus.PRINTING, JobStatus.PAUSED):
        job.status = (JobStatus.PAUSED if paused else JobStatus.PRINTING).value
        job.updated_at = utcnow()


async def print_ended(
    session: AsyncSession,
    app: CloudContext,
    run: PrintRun,
    outcome: Outcome,
    *,
    at: datetime,
    progress_pct: float,
    duration_s: float,
    filament_used_mm: float | None = None,
    reason: str | None = None,
) -> None:
    """Close the print; finish, fail, cancel or re-queue its job; free the printer; deduct."""
    run.status = outcome
    run.ended_at = at
    run.progress = 100.0 if outcome == "completed" else progress_pct
    run.duration_s = duration_s
    run.failure_reason = reason
    job = await session.get(Job, run.job_id)
    printer = await session.get(Printer, run.printer_id)
    if printer is not None and printer.current_job_id == run.job_id:
        printer.current_job_id = None
        printer.progress = None
    if job is None:
        return
    run.filament_used_g = await grams_used(
        session, job, filament_used_mm=filament_used_mm, progress_pct=run.progress
    )
    if run.filament_used_g:
        await deduct_from_loaded_spool(session, job.org_id, run.printer_id, run.filament_used_g)
    job.elapsed_time_s = round(duration_s)
    job.updated_at = utcnow()
    if JobStatus(job.status).is_final:
        # Cancelled through the API before the agent's report arrived: keep that outcome.
        return
    if outcome == "completed":
        job.copies_done += 1
        if job.copies_done < job.copies:
            # The next copy goes back to the queue; a pinned job stays on its printer.
            job.status = JobStatus.QUEUED.value
            job.printer_id = run.printer_id if run.pinned else None
            job.progress = None
            return
        job.progress = 100.0
    else:
        job.progress = progress_pct
    job.status = outcome
    job.completed_at = at
    if reason is not None:
        job.failure_reason = reason
    _record_job(session, app, job, _OUTCOME_EVENT[outcome])


async def start_refused(
    session: AsyncSession, app: CloudContext, run: PrintRun, *, reason: str, job_fails: bool
) -> None:
    """The agent refused or never acknowledged a start: the print never began.

    The job goes back to the queue, unless the refusal is about the job itself (its file is
    invalid), which no other printer would fix: then it fails.
    """
    run.status = "refused"
    run.ended_at = utcnow()
    run.failure_reason = reason
    printer = await session.get(Printer, run.printer_id)
    if printer is not None and printer.current_job_id == run.job_id:
        printer.current_job_id = None
    job = await session.get(Job, run.job_id)
    if job is None or JobStatus(job.status) is not JobStatus.ASSIGNED:
        return
    job.updated_at = utcnow()
    if job_fails:
        job.status = JobStatus.FAILED.value
        job.failure_reason = reason
        job.completed_at = utcnow()
        _record_job(session, app, job, EventType.JOB_FAILED)
        return
    log.info("job %s returns to the queue: %s", job.id, reason)
    job.status = JobStatus.QUEUED.value
    job.printer_id = run.printer_id if run.pinned else None
