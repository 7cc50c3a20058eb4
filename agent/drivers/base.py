"""The seam between the agent and a printer: the `Driver` protocol and what crosses it.

A driver owns one printer connection. The agent's per-printer supervisor runs
``await driver.run()`` (connect, then serve until the connection is lost or the task is
cancelled) and restarts it with backoff. Everything the driver learns is reported through
the ``listener`` callable given to its constructor, as `DriverEvent` values; commands are
plain coroutine methods that raise a `DriverError` subclass when they cannot be carried out.

Drivers are chosen through the explicit ``DRIVERS`` mapping in `agent.drivers.registry`,
never looked up by name at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from shared.enums import ErrorCode, PrinterStatus


@dataclass(frozen=True, slots=True)
class Temperatures:
    """Actual and target temperatures in °C; None where the printer has no such heater."""

    hotend_c: float | None = None
    hotend_target_c: float | None = None
    bed_c: float | None = None
    bed_target_c: float | None = None
    chamber_c: float | None = None
    chamber_target_c: float | None = None
    # Further tools of a multi-extruder printer: "T1" -> (actual, target).
    extra_tools: dict[str, tuple[float, float | None]] = field(default_factory=dict)
    # Any other heater or sensor, by the printer's name for it: (actual, target or None).
    sensors: dict[str, tuple[float, float | None]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JobProgress:
    job_id: str
    # Share of the file the printer has acknowledged (0..100).
    progress_pct: float
    elapsed_s: float
    remaining_s: float | None
    bytes_done: int = 0
    bytes_total: int = 0
    # The layer being printed and the file's layer count, where the printer reports them.
    layer: int | None = None
    layer_count: int | None = None


@dataclass(frozen=True, slots=True)
class LoadedMaterial:
    """Filament the printer itself reports as loaded (a Bambu AMS tray, an external spool)."""

    # Where it sits, in the printer's terms: "AMS1 tray 2", "external".
    slot: str
    material_type: str | None = None  # "PLA", "PETG-CF"
    color: str | None = None  # "#RRGGBB"
    remaining_pct: float | None = None  # None where the printer cannot tell


@dataclass(frozen=True, slots=True)
class PrinterSnapshot:
    """Everything the agent reports about one printer at one moment."""

    status: PrinterStatus
    firmware: str | None = None
    temperatures: Temperatures = field(default_factory=Temperatures)
    job: JobProgress | None = None
    # A reason a person can act on, set while status is ERROR or OFFLINE.
    message: str | None = None
    # What the printer says is loaded; empty for printers that cannot tell.
    materials: tuple[LoadedMaterial, ...] = ()


@dataclass(frozen=True, slots=True)
class LinkCounts:
    """What a line-by-line link (serial) has done since it was made: lines sent (new lines,
    not repeats), resend requests acted on, and waits for an ``ok`` past their deadline."""

    lines_sent: int = 0
    resends: int = 0
    timeouts: int = 0

    def __add__(self, other: LinkCounts) -> LinkCounts:
        return LinkCounts(
            lines_sent=self.lines_sent + other.lines_sent,
            resends=self.resends + other.resends,
            timeouts=self.timeouts + other.timeouts,
        )


# --- events a driver reports -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The snapshot changed in a way that matters (status, firmware, job, message)."""

    snapshot: PrinterSnapshot


@dataclass(frozen=True, slots=True)
class TelemetryUpdated:
    """Temperatures or progress moved; the agent coalesces these to about 1 Hz."""

    snapshot: PrinterSnapshot


@dataclass(frozen=True, slots=True)
class JobStarted:
    job_id: str


@dataclass(frozen=True, slots=True)
class JobPaused:
    job_id: str


@dataclass(frozen=True, slots=True)
class JobResumed:
    job_id: str


@dataclass(frozen=True, slots=True)
class JobCompleted:
    job_id: str
    duration_s: float


@dataclass(frozen=True, slots=True)
class JobFailed:
    job_id: str
    # A reason a person understands: "printer reset itself mid-print", "USB cable unplugged".
    reason: str
    progress_pct: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class JobCancelled:
    job_id: str
    progress_pct: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class ForeignJobSeen:
    """A job the agent did not start is running (e.g. started in OctoPrint's own UI)."""

    name: str


DriverEvent = (
    StateChanged
    | TelemetryUpdated
    | JobStarted
    | JobPaused
    | JobResumed
    | JobCompleted
    | JobFailed
    | JobCancelled
    | ForeignJobSeen
)

EventListener = Callable[[DriverEvent], None]


# --- errors ------------------------------------------------------------------------------


class DriverError(Exception):
    """A command could not be carried out. `code` is what a command reply carries."""

    code: ErrorCode = ErrorCode.INTERNAL_ERROR


class PrinterBusyError(DriverError):
    """The command does not fit the printer's state (a job while printing, home mid-print)."""

    code = ErrorCode.PRINTER_BUSY


class PrinterOfflineError(DriverError):
    """The printer is not connected."""

    code = ErrorCode.PRINTER_OFFLINE


class InvalidCommandError(DriverError):
    """The command itself is wrong (invalid G-code, unreadable file)."""

    code = ErrorCode.INVALID_REQUEST


class InvalidFileError(DriverError):
    code = ErrorCode.FILE_INVALID


class ConnectionLostError(DriverError):
    """Raised out of `Driver.run` when the link to the printer is gone; the supervisor retries."""

    code = ErrorCode.PRINTER_OFFLINE


# --- the protocol ------------------------------------------------------------------------


class Driver(Protocol):
    """One printer connection. Constructors take their collaborators (config, listener)."""

    @property
    def snapshot(self) -> PrinterSnapshot:
        """The current state; cheap, never blocks."""
        ...

    async def run(self) -> None:
        """Connect and serve until the link is lost (raise `ConnectionLostError`) or cancelled.

        On cancellation the driver closes its connection; a print in progress is left to the
        printer (a serial printer stops when the host stops feeding it).
        """
        ...

    async def start_job(self, job_id: str, gcode_path: Path) -> None:
        """Begin printing the file; returns once the job has started (JobStarted reported)."""
        ...

    async def pause(self) -> None: ...

    async def resume(self) -> None: ...

    async def cancel(self) -> None: ...

    async def home(self) -> None: ...

    async def cooldown(self) -> None: ...

    async def send_gcode(self, lines: list[str]) -> list[str]:
        """Send raw G-code outside any job; returns the printer's reply lines."""
        ...


@runtime_checkable
class CountsLink(Protocol):
    """A driver that streams G-code itself (serial) and counts its link's traffic."""

    @property
    def link_counts(self) -> LinkCounts:
        """Totals over the driver's life, across its protocol objects; cheap, never blocks."""
        ...
