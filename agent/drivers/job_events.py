"""The job events the network drivers' trackers report, built in one place.

OctoPrint, Moonraker and PrusaLink each decide from their own reports *that* a job paused
or ended and how; what that means as a `DriverEvent` is the same for all three.
"""

from __future__ import annotations

from enum import StrEnum

from agent.drivers.base import (
    DriverEvent,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobPaused,
    JobResumed,
)
from shared.enums import PrinterStatus


class Outcome(StrEnum):
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


def end_event(
    job_id: str, outcome: Outcome, *, duration_s: float, progress_pct: float, reason: str
) -> DriverEvent:
    match outcome:
        case Outcome.COMPLETED:
            return JobCompleted(job_id, duration_s=duration_s)
        case Outcome.CANCELLED:
            return JobCancelled(job_id, progress_pct=progress_pct, duration_s=duration_s)
        case Outcome.FAILED:
            return JobFailed(
                job_id, reason=reason, progress_pct=progress_pct, duration_s=duration_s
            )


def pause_event(
    job_id: str, before: PrinterStatus | None, now: PrinterStatus
) -> DriverEvent | None:
    """`JobPaused` on printing → paused, `JobResumed` on paused → printing, else None."""
    if before is PrinterStatus.PRINTING and now is PrinterStatus.PAUSED:
        return JobPaused(job_id)
    if before is PrinterStatus.PAUSED and now is PrinterStatus.PRINTING:
        return JobResumed(job_id)
    return None
