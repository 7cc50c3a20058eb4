"""Pure mapping from PrusaLink's `/api/v1/status` to our statuses, temperatures, progress.

PrusaLink's printer states are Prusa Connect's (prusa/connect/printer/const.py `State`):
IDLE, BUSY, READY, PRINTING, PAUSED, FINISHED, STOPPED, ERROR, ATTENTION; PrusaLink's
state_manager.py says when each holds. The status JSON is shaped in prusa/link/web/main.py
`api_status`: `printer` (state, temp_nozzle, target_nozzle, temp_bed, target_bed,
status_printer {ok, message}), `job` (id, progress 0..100, time_remaining and
time_printing in seconds) while there is a job, `storage`, `transfer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.drivers.base import JobProgress, Temperatures
from shared.enums import PrinterStatus

JOB_STATES = frozenset({"PRINTING", "PAUSED", "ATTENTION"})
ENDED_STATES = frozenset({"FINISHED", "STOPPED", "ERROR"})


@dataclass(frozen=True, slots=True)
class Observation:
    state: str
    # PrusaLink's id of the current job (it counts jobs up), None without a job.
    link_job_id: int | None
    progress_pct: float
    remaining_s: float | None
    printing_s: float | None
    # Why the printer is unhappy, from PrusaLink's condition tracker ("" when it is ok).
    problem: str


def observe(status: Mapping[str, Any]) -> Observation:
    printer = _mapping(status.get("printer"))
    job = _mapping(status.get("job"))
    condition = _mapping(printer.get("status_printer"))
    problem = "" if condition.get("ok", True) else _text(condition.get("message"))
    job_id = job.get("id")
    return Observation(
        state=_text(printer.get("state")).upper(),
        link_job_id=job_id if isinstance(job_id, int) and not isinstance(job_id, bool) else None,
        progress_pct=min(100.0, max(0.0, _number(job.get("progress")) or 0.0)),
        remaining_s=_remaining(job.get("time_remaining")),
        printing_s=_number(job.get("time_printing")),
        problem=problem,
    )


def printer_status(obs: Observation) -> tuple[PrinterStatus, str | None]:
    """Our status and a reason a person can act on, outside our own job."""
    match obs.state:
        case "IDLE" | "READY":
            # READY: a person confirmed the sheet is clear; both take a print.
            return PrinterStatus.IDLE, None
        case "PRINTING":
            return PrinterStatus.PRINTING, None
        case "PAUSED":
            return PrinterStatus.PAUSED, None
        case "BUSY":
            return PrinterStatus.BUSY, "the printer is busy (a calibration, a menu, a move)"
        case "FINISHED" | "STOPPED":
            # PrusaLink keeps the last print's result for a while (state_manager.py:
            # PRINT_END_TIMEOUT) and answers a start with 409 meanwhile.
            return PrinterStatus.BUSY, f"PrusaLink still shows the last print as {obs.state}"
        case "ATTENTION":
            return (
                PrinterStatus.ERROR,
                f"the printer needs attention: {obs.problem or 'see its screen'}",
            )
        case "ERROR":
            return (
                PrinterStatus.ERROR,
                f"PrusaLink reports a printer error: {obs.problem or 'see its screen'}",
            )
        case _:
            return PrinterStatus.BUSY, f"PrusaLink reports an unknown state {obs.state!r}"


def temperatures_from(status: Mapping[str, Any]) -> Temperatures:
    printer = _mapping(status.get("printer"))
    return Temperatures(
        hotend_c=_number(printer.get("temp_nozzle")),
        hotend_target_c=_number(printer.get("target_nozzle")),
        bed_c=_number(printer.get("temp_bed")),
        bed_target_c=_number(printer.get("target_bed")),
    )


def job_progress(job_id: str, obs: Observation, fallback_elapsed_s: float) -> JobProgress:
    return JobProgress(
        job_id=job_id,
        progress_pct=obs.progress_pct,
        elapsed_s=obs.printing_s if obs.printing_s is not None else fallback_elapsed_s,
        remaining_s=obs.remaining_s,
    )


# Prusa-Firmware reports 65535 minutes for "not known yet" (M73 R); PrusaLink passes it on
# in seconds.
_UNKNOWN_REMAINING_S = 65535 * 60


def _remaining(value: object) -> float | None:
    seconds = _number(value)
    return None if seconds is None or seconds >= _UNKNOWN_REMAINING_S else seconds


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None
