"""Driver-side values to wire payloads (shared/wire), in one place."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from agent.drivers.base import JobProgress, PrinterSnapshot
from agent.drivers.base import LoadedMaterial as DriverMaterial
from agent.drivers.base import Temperatures as DriverTemperatures
from shared.enums import PrinterStatus
from shared.wire import JobState, LoadedMaterial, PrinterState, Telemetry, Temperatures

_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")


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
        layer=None if job.layer is None else max(0, job.layer),
        layer_count=None if job.layer_count is None else max(0, job.layer_count),
    )


def material(m: DriverMaterial) -> LoadedMaterial:
    # The wire refuses a malformed colour, and with it the whole state: drop it instead.
    color = m.color.upper() if m.color and _COLOR.fullmatch(m.color) else None
    return LoadedMaterial(
        slot=m.slot[:64],
        type=m.material_type[:64] if m.material_type else None,
        color=color,
        remaining_pct=None if m.remaining_pct is None else min(100.0, max(0.0, m.remaining_pct)),
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
        materials=[material(m) for m in snapshot.materials],
    )


def telemetry(printer_id: str, snapshot: PrinterSnapshot) -> Telemetry:
    return Telemetry(
        printer_id=printer_id,
        ts=utc_now(),
        temperatures=temperatures(snapshot.temperatures),
        job=job_state(snapshot.job),
    )
