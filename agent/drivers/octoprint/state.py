"""Pure mapping from what OctoPrint reports to our `PrinterStatus`, temperatures and progress.

No I/O here: the driver feeds in decoded payloads and gets values back, so every mapping is
tested with OctoPrint's real strings and no server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.drivers.base import JobProgress, Temperatures
from agent.drivers.octoprint.models import PrinterState, ProgressInfo, StateFlags
from shared.enums import PrinterStatus

# OctoPrint's state texts (util/comm.py `MachineCom.getStateString`, printer/standard.py
# `get_state_string` says "Offline" when there is no serial connection at all; the
# connection endpoint says "Closed"). Used when only the text is known (GET /api/job).
_TEXT_STATUS: dict[str, PrinterStatus] = {
    "Operational": PrinterStatus.IDLE,
    "Starting": PrinterStatus.PRINTING,
    "Starting print from SD": PrinterStatus.PRINTING,
    "Printing": PrinterStatus.PRINTING,
    "Printing from SD": PrinterStatus.PRINTING,
    "Resuming": PrinterStatus.PRINTING,
    "Finishing": PrinterStatus.PRINTING,
    # Pausing still runs the moves already sent; it is paused once OctoPrint says Paused
    # (a resume sent while still Pausing is lost, so JobPaused waits for Paused).
    "Pausing": PrinterStatus.PRINTING,
    "Paused": PrinterStatus.PAUSED,
    # Not ready for a job while a cancel runs its script or a file goes to the SD card.
    "Cancelling": PrinterStatus.BUSY,
    "Starting to send file to SD": PrinterStatus.BUSY,
    "Sending file to SD": PrinterStatus.BUSY,
    "Transferring file to SD": PrinterStatus.BUSY,
    "Opening serial connection": PrinterStatus.BUSY,
    "Detecting serial connection": PrinterStatus.BUSY,
    "Connecting": PrinterStatus.BUSY,
    "Offline": PrinterStatus.OFFLINE,
    "Closed": PrinterStatus.OFFLINE,
    "Error": PrinterStatus.ERROR,
    "Offline after error": PrinterStatus.ERROR,
}

NOT_CONNECTED_MESSAGE = "OctoPrint is not connected to its printer"


def status_from_text(text: str) -> PrinterStatus:
    """Our status for an OctoPrint state text; an unknown text counts as busy, never idle."""
    status = _TEXT_STATUS.get(text)
    if status is not None:
        return status
    if text.startswith(("Error", "Offline after error")):
        return PrinterStatus.ERROR
    if text.startswith(("Offline", "Closed")):
        return PrinterStatus.OFFLINE
    return PrinterStatus.BUSY


def status_from_flags(flags: StateFlags, text: str) -> PrinterStatus:
    """Our status from OctoPrint's state flags (printer/standard.py `_getStateFlags`)."""
    if flags.error:
        return PrinterStatus.ERROR
    if flags.closed_or_error:
        return PrinterStatus.OFFLINE
    if flags.paused and not flags.pausing:
        return PrinterStatus.PAUSED
    if flags.cancelling:
        return PrinterStatus.BUSY
    if flags.printing or flags.pausing or flags.resuming or flags.finishing:
        return PrinterStatus.PRINTING
    if flags.operational and flags.ready:
        return PrinterStatus.IDLE
    # Operational but not ready: "Starting", SD transfers, or a state text we do not know.
    return status_from_text(text) if text in _TEXT_STATUS else PrinterStatus.BUSY


def status_from_state(state: PrinterState) -> PrinterStatus:
    if state.flags is None:
        return status_from_text(state.text)
    return status_from_flags(state.flags, state.text)


def message_for(status: PrinterStatus, state_text: str, error: str | None) -> str | None:
    """A reason a person can act on, for the statuses that need one."""
    if status is PrinterStatus.ERROR:
        detail = error or state_text
        return f"OctoPrint reports a printer error: {detail}"
    if status is PrinterStatus.OFFLINE:
        return NOT_CONNECTED_MESSAGE
    return None


def _reading(value: object) -> tuple[float | None, float | None]:
    """(actual, target) from {"actual": 21.3, "target": 0.0}; None for what is missing."""
    if not isinstance(value, Mapping):
        return None, None
    actual = value.get("actual")
    target = value.get("target")
    return (
        float(actual) if isinstance(actual, int | float) else None,
        float(target) if isinstance(target, int | float) else None,
    )


def temperatures_from(point: Mapping[str, Any]) -> Temperatures:
    """Temperatures from one OctoPrint temperature point.

    The same shape in a push `temps` entry and in `GET /api/printer`'s `temperature`:
    keys `tool0`, `tool1`, …, `bed`, `chamber`, each {"actual", "target"} (plus `time` in
    push points, which is skipped).
    """
    hotend_c, hotend_target_c = _reading(point.get("tool0"))
    bed_c, bed_target_c = _reading(point.get("bed"))
    chamber_c, chamber_target_c = _reading(point.get("chamber"))
    extra: dict[str, tuple[float, float | None]] = {}
    for key, value in point.items():
        if key.startswith("tool") and key != "tool0" and key[4:].isdigit():
            actual, target = _reading(value)
            if actual is not None:
                # OctoPrint says tool1; the G-code world (and our snapshot) says T1.
                extra[f"T{key[4:]}"] = (actual, target)
    return Temperatures(
        hotend_c=hotend_c,
        hotend_target_c=hotend_target_c,
        bed_c=bed_c,
        bed_target_c=bed_target_c,
        chamber_c=chamber_c,
        chamber_target_c=chamber_target_c,
        extra_tools=extra,
    )


def heaters_in(point: Mapping[str, Any]) -> list[str]:
    """OctoPrint heater names present in a temperature point (`tool0`, `bed`, …)."""
    return [key for key, value in point.items() if key != "time" and _reading(value)[0] is not None]


def job_progress(
    job_id: str, progress: ProgressInfo, size_bytes: int | None, fallback_elapsed_s: float
) -> JobProgress:
    """Our progress from OctoPrint's `progress` object (values may be null early on)."""
    elapsed_s = progress.print_time if progress.print_time is not None else fallback_elapsed_s
    return JobProgress(
        job_id=job_id,
        progress_pct=max(0.0, min(100.0, progress.completion or 0.0)),
        elapsed_s=float(elapsed_s),
        remaining_s=progress.print_time_left,
        bytes_done=progress.filepos or 0,
        bytes_total=size_bytes or 0,
    )
