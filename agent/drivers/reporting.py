"""What the network drivers (OctoPrint, Moonraker, PrusaLink, Bambu) share on their way to
the listener, and in the checks before a command.

They get whole reports from a server and rebuild the snapshot from each one; a report
that changes what the farm acts on (status, firmware, message, which job) is a
`StateChanged`, one that only moves numbers (temperatures, progress) a `TelemetryUpdated`,
and one that changes nothing is not reported at all.
"""

from __future__ import annotations

import logging

from agent.drivers.base import (
    DriverEvent,
    EventListener,
    InvalidCommandError,
    PrinterBusyError,
    PrinterOfflineError,
    PrinterSnapshot,
    StateChanged,
    TelemetryUpdated,
)
from shared.enums import PrinterStatus

log = logging.getLogger(__name__)


class SnapshotReporter:
    def __init__(self, listener: EventListener, first: PrinterSnapshot) -> None:
        self._listener = listener
        self.snapshot = first

    def publish(self, new: PrinterSnapshot) -> None:
        old, self.snapshot = self.snapshot, new
        if new == old:
            return
        if _identity(new) != _identity(old):
            self.emit(StateChanged(new))
        else:
            self.emit(TelemetryUpdated(new))

    def emit(self, event: DriverEvent) -> None:
        try:
            self._listener(event)
        except Exception:
            # A listener bug must not stop the driver from watching the printer.
            log.exception("driver event listener failed on %r", event)


def _identity(snap: PrinterSnapshot) -> tuple[object, ...]:
    return (snap.status, snap.firmware, snap.message, snap.job.job_id if snap.job else None)


def gcode_lines(lines: list[str]) -> list[str]:
    """The lines of a raw G-code command, stripped; refused when empty or multi-line."""
    cleaned = [line.strip() for line in lines if line.strip()]
    if not cleaned:
        raise InvalidCommandError("no G-code lines to send")
    if any("\n" in line or "\r" in line for line in cleaned):
        raise InvalidCommandError("a G-code line must not contain a line break")
    return cleaned


def require_idle(snap: PrinterSnapshot, *, job_running: bool) -> None:
    """Refuse a new print unless the printer is idle and runs no job of ours: offline or
    busy, in the printer's own words when the snapshot has some."""
    if snap.status is PrinterStatus.OFFLINE:
        raise PrinterOfflineError(snap.message or "printer offline")
    if job_running or snap.status is not PrinterStatus.IDLE:
        raise PrinterBusyError(snap.message or f"the printer is {snap.status}")
