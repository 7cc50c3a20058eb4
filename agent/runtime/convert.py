"""Driver-side values to wire payloads (shared/wire), in one place."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.drivers.base import JobProgress, PrinterSnapshot
from agent.drivers.base import Temperatures as DriverTemperatures
from shared.enums import PrinterStatus
from shared.wire import JobState, PrinterState, Telemetry, Temperatures


def utc_now() -> datetime:
    return datetime.now(UTC)


def temperatures(t: DriverTemperatures) -> Temperatures:
    return Temperatures(
        hotend=t.hotend_c,
        hotend_target=t.hotend_target_c,
        bed=t.bed_c,
        bed_target=t.bed_target_c,
        chamber=t.chamber_c,
        chamber_target=t.chamber_target_c,
        tools={name: [actual, target] for name, (actual, target) in t.extra_tools.items()},
        sensors={name: [actual, target] for name, (actual, target) in t.sensors.items()},
    )


def job_state(job: JobProgress | None) -> JobState | None:
    if job is None:
        return None
    return JobState(
        job_id=job.job_id,
        progress=min(100.0, max(0.0, job.progress_pct)),
        elapsed_s=max(0.0, job.elapsed_s),
        remaining_s=None if job.remaining_s is None else max(0.0, job.remaining_s),
    )


def printer_state(
    printer_id: str,
    snapshot: PrinterSnapshot,
    *,
    session: int,
    foreign_job: str | None = None,
) -> PrinterState:
    return PrinterState(
        printer_id=printer_id,
        status=snapshot.status,
        connected=snapshot.status is not PrinterStatus.OFFLINE,
        ts=utc_now(),
        session=session,
        firmware=snapshot.firmware,
        temperatures=temperatures(snapshot.temperatures),
        job=job_state(snapshot.job),
        foreign_job=foreign_job,
        message=snapshot.message,
    )


def telemetry(printer_id: str, snapshot: PrinterSnapshot) -> Telemetry:
    return Telemetry(
        printer_id=printer_id,
        ts=utc_now(),
        temperatures=temperatures(snapshot.temperatures),
        job=job_state(snapshot.job),
    )
