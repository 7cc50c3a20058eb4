"""`SerialDriver`: one printer on a USB serial port (or a pty), through the host protocol.

The driver is the policy around `agent.serial`: identify the firmware with M115 and pick
its profile, keep temperatures flowing (M155 auto-report or M105 polls), stream a job and
turn what the printer says into `Driver` events. Quirks stay in the profile data.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from agent.drivers.base import (
    ConnectionLostError,
    DriverEvent,
    EventListener,
    InvalidCommandError,
    InvalidFileError,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobPaused,
    JobProgress,
    JobResumed,
    JobStarted,
    LinkCounts,
    PrinterBusyError,
    PrinterOfflineError,
    PrinterSnapshot,
    StateChanged,
    TelemetryUpdated,
    Temperatures,
)
from agent.drivers.serial_replies import CommandReplies, temperatures
from agent.serial import events as ev
from agent.serial.encoding import command_problem
from agent.serial.job import FileFeeder, FileLineError
from agent.serial.link import SerialLink
from agent.serial.profiles import FirmwareProfile, detect_profile, get_profile
from agent.serial.protocol import HostProtocol
from agent.serial.transport import PortError, SerialPort
from shared.enums import PrinterStatus

log = logging.getLogger(__name__)

_DEFAULT_BAUD = 115200  # the commonest setting when the firmware is not known yet
_TELEMETRY_EVERY_S = 0.5


class SerialDriver:
    """Drives one serial printer. ``await driver.run()`` connects and serves until lost."""

    def __init__(
        self,
        port: str,
        listener: EventListener,
        *,
        baud: int | None = None,
        profile: str = "auto",
        probe_s: float | None = None,
        detect_timeout_s: float | None = None,
        command_timeout_s: float = 120.0,
        max_lines_in_flight: int | None = None,
    ) -> None:
        self._port_path = port
        self._listener = listener
        self._profile_name = profile
        # Checked now so a typo fails at construction, not after the port opened.
        self._profile: FirmwareProfile | None = None if profile == "auto" else get_profile(profile)
        self._baud = baud or (self._profile.link.default_baud if self._profile else _DEFAULT_BAUD)
        self._probe_s = probe_s
        self._detect_timeout_s = detect_timeout_s
        self._command_timeout_s = command_timeout_s
        self._max_lines_in_flight = max_lines_in_flight
        self._status = PrinterStatus.OFFLINE
        self._message: str | None = None
        self._firmware: str | None = None
        self._capabilities: dict[str, bool] = {}
        self._temps = Temperatures()
        self._link: SerialLink | None = None
        self._job: FileFeeder | None = None
        self._paused_at_s: float | None = None
        self._commands_out = CommandReplies()
        self._autoreport = False
        self._next_poll_s = 0.0
        self._last_telemetry_s = 0.0
        # Counts of the protocol objects this driver already replaced (the generic one used
        # for M115, the one of a closed link); the live protocol's are added on reading.
        self._retired_counts = LinkCounts()

    # --- Driver protocol ----------------------------------------------------------------

    @property
    def snapshot(self) -> PrinterSnapshot:
        return PrinterSnapshot(
            status=self._status,
            firmware=self._firmware,
            temperatures=self._temps,
            job=self._job_progress(),
            message=self._message,
        )

    @property
    def profile(self) -> FirmwareProfile | None:
        return self._profile

    @property
    def capabilities(self) -> dict[str, bool]:
        return dict(self._capabilities)

    @property
    def link_counts(self) -> LinkCounts:
        link = self._link
        if link is None:
            return self._retired_counts
        return self._retired_counts + _counts_of(link.protocol)

    async def run(self) -> None:
        if self._link is not None:
            raise PrinterBusyError("the driver is already running")
        port = SerialPort(self._port_path, self._baud)
        try:
            port.open()
        except PortError as exc:
            self._set_status(PrinterStatus.OFFLINE, str(exc))
            raise ConnectionLostError(str(exc)) from exc
        protocol = self._new_protocol(self._profile or get_profile("marlin"))
        link = SerialLink(
            port,
            protocol,
            self._on_event,
            before_send=self._feed,
            on_tick=self._on_tick,
            on_close=self._on_close,
        )
        self._set_status(PrinterStatus.BUSY, f"connecting to {self._port_path}")
        try:
            # On cancellation the link closes and a job in progress fails with that reason:
            # a serial printer stops when the host stops feeding it.
            async with link:
                self._link = link
                await self._identify(link)
                await link.closed.wait()
        finally:
            # In the same step as dropping the link, so a reader never counts it twice.
            self._retired_counts += _counts_of(link.protocol)
            self._link = None
        raise ConnectionLostError(link.close_reason)

    async def start_job(self, job_id: str, gcode_path: Path) -> None:
        link = self._require_link()
        if self._status is not PrinterStatus.IDLE or self._job is not None:
            raise PrinterBusyError(f"printer is {self._status.value}")
        try:
            feeder = FileFeeder(job_id, gcode_path, time.monotonic())
        except FileLineError as exc:
            raise InvalidFileError(str(exc)) from exc
        link.protocol.start_file()
        self._job = feeder
        self._emit(JobStarted(job_id))
        self._set_status(PrinterStatus.PRINTING, None)
        link.flush()
        self._check_done()

    async def pause(self) -> None:
        if self._status is not PrinterStatus.PRINTING or self._job is None:
            raise PrinterBusyError(f"nothing to pause: printer is {self._status.value}")
        self._pause_stream(self._require_profile().commands.pause)

    async def resume(self) -> None:
        if self._status is not PrinterStatus.PAUSED or self._job is None:
            raise PrinterBusyError(f"nothing to resume: printer is {self._status.value}")
        self._resume_stream(self._require_profile().commands.resume)

    async def cancel(self) -> None:
        job = self._job
        if job is None:
            raise PrinterBusyError("no job to cancel")
        link = self._require_link()
        profile = self._require_profile()
        link.protocol.clear_file_queue()
        link.protocol.hold_file(False)
        if self._capabilities.get("EMERGENCY_PARSER") and "M410" in profile.commands.out_of_band:
            # Quick-stop drops the moves already planned instead of printing them out.
            link.protocol.send_out_of_band("M410")
        for command in profile.commands.cancel:
            link.protocol.send(command)
        progress = job.progress_pct(link.protocol)
        self._end_job()
        self._emit(JobCancelled(job.job_id, progress, time.monotonic() - job.started_s))
        self._set_status(PrinterStatus.IDLE, None)
        link.flush()

    async def home(self) -> None:
        if self._status is not PrinterStatus.IDLE:
            raise PrinterBusyError(f"cannot home while {self._status.value}")
        profile = self._require_profile()
        await self._commands(profile.commands.home, profile.timeouts.long_command_s)

    async def cooldown(self) -> None:
        if self._status is PrinterStatus.PRINTING:
            raise PrinterBusyError("cannot cool down while printing")
        await self._commands(self._require_profile().commands.cooldown, self._command_timeout_s)

    async def send_gcode(self, lines: list[str]) -> list[str]:
        commands = [line.split(";", 1)[0].strip() for line in lines]
        commands = [c for c in commands if c]
        for command in commands:
            problem = command_problem(command)
            if problem is not None:
                raise InvalidCommandError(f"{problem}: {command!r}")
        return await self._commands(commands, self._command_timeout_s)

    # --- connection ---------------------------------------------------------------------

    async def _identify(self, link: SerialLink) -> None:
        fallback = self._profile or get_profile("marlin")
        detect_s = self._detect_timeout_s or fallback.timeouts.detect_s
        try:
            await self._commands(["M115"], detect_s, allow_busy=True)
        except TimeoutError:
            reason = (
                f"no reply to M115 from {self._port_path} within {detect_s:.0f} s "
                f"(is a printer connected, and is {self._baud} baud right?)"
            )
            link.close(reason)
            return
        except PrinterOfflineError:
            return
        profile = self._profile
        if profile is None:
            profile = detect_profile(self._firmware or "")
            self._profile = profile
        self._retired_counts += _counts_of(link.protocol)
        link.replace_protocol(self._new_protocol(profile))
        reporting = profile.reporting
        if reporting.temperature_autoreport and (
            self._capabilities.get("AUTOREPORT_TEMP") or not reporting.autoreport_needs_capability
        ):
            link.protocol.send(f"M155 S{reporting.autoreport_interval_s}")
            self._autoreport = True
        link.protocol.request_temperature()
        link.flush()
        log.info("%s: %s (profile %s)", self._port_path, self._firmware, profile.name)
        self._set_status(PrinterStatus.IDLE, None)

    async def _commands(
        self, commands: list[str], timeout_s: float, *, allow_busy: bool = False
    ) -> list[str]:
        link = self._require_link()
        if not allow_busy and self._status in (PrinterStatus.OFFLINE, PrinterStatus.ERROR):
            raise PrinterOfflineError(self._message or f"printer is {self._status.value}")
        return await self._commands_out.run(link, commands, timeout_s)

    def _on_close(self, reason: str) -> None:
        self._commands_out.fail_all(reason)
        self._lost(reason)

    def _lost(self, reason: str) -> None:
        if self._job is not None:
            self._fail_job(reason)
        self._set_status(PrinterStatus.OFFLINE, reason)

    def _on_tick(self, now_s: float) -> None:
        link = self._link
        # No polls while identifying: the protocol is swapped after M115, and an M105 still
        # out then would be answered to the new one.
        if (
            link is None
            or self._autoreport
            or self._status in (PrinterStatus.OFFLINE, PrinterStatus.BUSY)
        ):
            return
        if now_s >= self._next_poll_s and self._profile is not None:
            self._next_poll_s = now_s + self._profile.reporting.poll_interval_s
            link.protocol.request_temperature()

    # --- events from the protocol ---------------------------------------------------------

    def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.FileProgress):
            self._check_done()
            self._telemetry()
        elif isinstance(event, ev.Ok):
            self._commands_out.ok(event.ticket, event.text)
        elif isinstance(event, ev.Temperature):
            self._temps = temperatures(event.readings)
            self._telemetry()
        elif isinstance(event, ev.FirmwareInfo):
            self._firmware = event.name or None
        elif isinstance(event, ev.Capability):
            self._capabilities[event.name] = event.enabled
        elif isinstance(event, ev.FirmwareReset):
            self._on_reset()
        elif isinstance(event, ev.FirmwareError):
            self._on_firmware_error(event)
        elif isinstance(event, ev.HostAction):
            self._on_host_action(event)
        elif isinstance(event, ev.Message | ev.Busy):
            text = event.text if isinstance(event, ev.Message) else f"busy: {event.reason}"
            self._commands_out.text(text)
        elif isinstance(event, ev.Resend):
            log.debug("%s: resend from line %d (%s)", self._port_path, event.line, event.reason)

    def _on_reset(self) -> None:
        # Marlin prints "start" when it boots; a print in progress is gone (OctoPrint
        # cancels too: "printer lost state").
        if self._job is not None:
            self._fail_job("printer reset itself mid-print (firmware printed 'start')")
        if self._status is not PrinterStatus.BUSY:
            self._set_status(PrinterStatus.IDLE, "printer reset itself")

    def _on_firmware_error(self, event: ev.FirmwareError) -> None:
        self._commands_out.text(f"Error: {event.message}")
        if not event.fatal:
            log.warning("%s: printer error: %s", self._port_path, event.message)
            return
        reason = f"printer halted: {event.message}"
        if self._job is not None:
            self._fail_job(reason)
        self._set_status(PrinterStatus.ERROR, reason)

    def _on_host_action(self, event: ev.HostAction) -> None:
        action = event.action
        commands = self._profile.commands if self._profile is not None else None
        printing = self._status is PrinterStatus.PRINTING
        if action in ("pause", "paused", "filament_runout") and printing:
            # "pause" asks the host to pause; "paused" says the printer already did.
            self._pause_stream(commands.pause if commands and action == "pause" else [])
        elif action in ("resume", "resumed") and self._status is PrinterStatus.PAUSED:
            self._resume_stream(commands.resume if commands and action == "resume" else [])
        elif action == "cancel" and self._job is not None:
            self._fail_job("cancelled on the printer")
            self._set_status(PrinterStatus.IDLE, "cancelled on the printer")
        elif action == "notification":
            self._message = event.argument or self._message
            self._emit(StateChanged(self.snapshot))

    # --- job bookkeeping ------------------------------------------------------------------

    def _feed(self) -> None:
        job, link = self._job, self._link
        if job is None or link is None:
            return
        try:
            job.feed(link.protocol)
        except FileLineError as exc:
            self._fail_job(str(exc))
            self._set_status(PrinterStatus.IDLE, str(exc))

    def _check_done(self) -> None:
        job, link = self._job, self._link
        if job is None or link is None or not job.done(link.protocol):
            return
        self._end_job()
        self._emit(JobCompleted(job.job_id, time.monotonic() - job.started_s))
        self._set_status(PrinterStatus.IDLE, None)

    def _pause_stream(self, commands: list[str]) -> None:
        link, job = self._require_link(), self._job
        assert job is not None
        link.protocol.hold_file(True)
        for command in commands:
            link.protocol.send(command)
        self._paused_at_s = time.monotonic()
        self._emit(JobPaused(job.job_id))
        self._set_status(PrinterStatus.PAUSED, None)
        link.flush()

    def _resume_stream(self, commands: list[str]) -> None:
        link, job = self._require_link(), self._job
        assert job is not None
        for command in commands:
            link.protocol.send(command)
        link.protocol.hold_file(False)
        if self._paused_at_s is not None:
            job.paused_s += time.monotonic() - self._paused_at_s
            self._paused_at_s = None
        self._emit(JobResumed(job.job_id))
        self._set_status(PrinterStatus.PRINTING, None)
        link.flush()

    def _fail_job(self, reason: str) -> None:
        job = self._job
        if job is None:
            return
        progress = job.progress_pct(self._link.protocol) if self._link else 0.0
        self._end_job()
        log.warning("%s: job %s failed: %s", self._port_path, job.job_id, reason)
        self._emit(JobFailed(job.job_id, reason, progress, time.monotonic() - job.started_s))

    def _end_job(self) -> None:
        if self._job is not None:
            self._job.close()
            self._job = None
        self._paused_at_s = None
        if self._link is not None:
            self._link.protocol.clear_file_queue()
            self._link.protocol.hold_file(False)

    def _job_progress(self) -> JobProgress | None:
        job, link = self._job, self._link
        if job is None or link is None:
            return None
        protocol = link.protocol
        now_s = time.monotonic()
        return JobProgress(
            job_id=job.job_id,
            progress_pct=job.progress_pct(protocol),
            elapsed_s=now_s - job.started_s,
            remaining_s=job.remaining_s(protocol, now_s),
            bytes_done=protocol.file_offset_acked,
            bytes_total=job.size_bytes,
        )

    # --- reporting ------------------------------------------------------------------------

    def _set_status(self, status: PrinterStatus, message: str | None) -> None:
        if status is self._status and message == self._message:
            return
        self._status = status
        self._message = message
        self._emit(StateChanged(self.snapshot))

    def _telemetry(self) -> None:
        now_s = time.monotonic()
        if now_s - self._last_telemetry_s >= _TELEMETRY_EVERY_S:
            self._last_telemetry_s = now_s
            self._emit(TelemetryUpdated(self.snapshot))

    def _emit(self, event: DriverEvent) -> None:
        try:
            self._listener(event)
        except Exception:
            # A listener bug must not stop the stream to the printer.
            log.exception("%s: event listener failed on %r", self._port_path, event)

    def _new_protocol(self, profile: FirmwareProfile) -> HostProtocol:
        return HostProtocol(
            profile, probe_s=self._probe_s, max_lines_in_flight=self._max_lines_in_flight
        )

    def _require_link(self) -> SerialLink:
        if self._link is None or self._link.closed.is_set():
            raise PrinterOfflineError(self._message or "printer is not connected")
        return self._link

    def _require_profile(self) -> FirmwareProfile:
        if self._profile is None:
            raise PrinterOfflineError("printer not identified yet")
        return self._profile


def _counts_of(protocol: HostProtocol) -> LinkCounts:
    return LinkCounts(
        lines_sent=protocol.lines_sent, resends=protocol.resends, timeouts=protocol.timeouts
    )
