"""One supervisor per printer: keeps its driver connected and turns what it reports into
state, telemetry and events; carries out that printer's commands one at a time.

A supervisor never lets its printer's trouble reach another printer: driver errors end in
a reconnect with jittered backoff, and the agent restarts a supervisor that fails itself.
The driver's listener is synchronous: snapshots are stored and coalesced at once, and
discrete happenings (job events, online/offline/error transitions) go through a bounded
queue to one task that writes them to the outbox in the order they happened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from agent.drivers.base import (
    CountsLink,
    Driver,
    DriverError,
    DriverEvent,
    ForeignJobSeen,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobPaused,
    JobResumed,
    JobStarted,
    LinkCounts,
    PrinterSnapshot,
    StateChanged,
    TelemetryUpdated,
)
from agent.drivers.registry import DriverFactory, DriverServices, connection_kind
from agent.files.cache import FileCache
from agent.runtime import convert
from agent.runtime.executor import CommandExecutor, CommandOutcome
from agent.runtime.jobs import JobBook
from agent.runtime.reporter import Reporter
from agent.sync.outbox import RowKind
from shared.backoff import Backoff
from shared.enums import PrinterStatus
from shared.logs import log_context
from shared.wire import (
    Command,
    PrinterConfig,
    PrinterErrorEvent,
    PrinterOfflineEvent,
    PrinterOnlineEvent,
    PrinterState,
)

log = logging.getLogger(__name__)

EVENT_QUEUE_SIZE = 1000
_NOT_ANSWERING = frozenset({PrinterStatus.OFFLINE, PrinterStatus.BUSY})
COMMAND_QUEUE_SIZE = 32
# A driver that stayed connected this long starts its next reconnect from the base delay.
STABLE_CONNECTION_S = 60.0
COOLDOWN_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class _Online:
    firmware: str | None


@dataclass(frozen=True, slots=True)
class _Offline:
    reason: str


@dataclass(frozen=True, slots=True)
class _Error:
    message: str


_Happening = DriverEvent | _Online | _Offline | _Error
CommandDone = Callable[[Command, CommandOutcome], Awaitable[None]]


@dataclass(slots=True)
class PendingCommand:
    command: Command
    done: CommandDone
    received_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True)
class SupervisorSettings:
    telemetry_interval_s: float = 1.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0


class PrinterSupervisor:
    def __init__(
        self,
        printer: PrinterConfig,
        *,
        factory: DriverFactory,
        services: DriverServices,
        reporter: Reporter,
        jobs: JobBook,
        files: FileCache,
        settings: SupervisorSettings,
        on_job_end: Callable[[], None],
    ) -> None:
        self.printer = printer
        self.printer_id = printer.printer_id
        self.kind = connection_kind(printer)
        self._factory = factory
        self._services = services
        self._reporter = reporter
        self._files = files
        self._settings = settings
        self._on_job_end = on_job_end
        self.snapshot = PrinterSnapshot(status=PrinterStatus.OFFLINE, message="connecting")
        self.driver: Driver | None = None
        # Link counts of the drivers this supervisor already replaced (one per reconnect),
        # so the printer's counters only ever grow while the agent runs.
        self._past_link_counts = LinkCounts()
        self._online = False
        self._foreign_job: str | None = None
        self._happenings: asyncio.Queue[_Happening] = asyncio.Queue(EVENT_QUEUE_SIZE)
        self._commands: asyncio.Queue[PendingCommand] = asyncio.Queue(COMMAND_QUEUE_SIZE)
        self._command_ids: set[str] = set()
        self._telemetry_dirty = asyncio.Event()
        # Set after an agent restart interrupted a serial print: heaters off once connected.
        self.cooldown_on_connect = False
        self.jobs = jobs
        self._executor = CommandExecutor(self, jobs, files)

    @property
    def status(self) -> PrinterStatus:
        return self.snapshot.status

    @property
    def link_counts(self) -> LinkCounts | None:
        """Serial traffic over this supervisor's life; None for printers whose host streams
        the G-code itself (OctoPrint, Klipper, PrusaLink, Bambu Lab)."""
        driver = self.driver
        if isinstance(driver, CountsLink):
            return self._past_link_counts + driver.link_counts
        return self._past_link_counts if self.kind == "serial" else None

    # --- what the reporter asks for ----------------------------------------------------

    def state(self, session: int) -> PrinterState:
        return convert.printer_state(
            self.printer_id, self.snapshot, session=session, foreign_job=self._foreign_job
        )

    def submit(self, pending: PendingCommand) -> bool:
        try:
            self._commands.put_nowait(pending)
        except asyncio.QueueFull:
            return False
        self._command_ids.add(pending.command.command_id)
        return True

    def has_command(self, command_id: str) -> bool:
        """Queued or running here, its reply not stored yet."""
        return command_id in self._command_ids

    # --- the tasks -----------------------------------------------------------------------

    async def run(self) -> None:
        self._reporter.add_source(self.printer_id, self)
        # Its tasks copy this context: whatever they (and the driver) log names the printer.
        with log_context(printer_id=self.printer_id):
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._drive(), name=f"drive:{self.printer_id}")
                tg.create_task(self._handle_happenings(), name=f"events:{self.printer_id}")
                tg.create_task(self._handle_commands(), name=f"commands:{self.printer_id}")
                tg.create_task(self._publish_telemetry(), name=f"telemetry:{self.printer_id}")

    async def _drive(self) -> None:
        backoff = Backoff(base_s=self._settings.backoff_base_s, cap_s=self._settings.backoff_cap_s)
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            reason = await self._run_driver_once()
            self._went_offline(reason)
            if loop.time() - started >= STABLE_CONNECTION_S:
                backoff.reset()
            delay_s = backoff.next_delay_s()
            log.info("printer %s: reconnecting in %.1f s", self.printer_id, delay_s)
            await asyncio.sleep(delay_s)  # backoff between attempts, not synchronisation

    async def _run_driver_once(self) -> str:
        try:
            driver = self._factory(self.printer, self._listener, self._services)
        except Exception as exc:
            # A bad profile name or port setting: this printer stays offline, others go on.
            log.error("printer %s: cannot set up its driver: %s", self.printer_id, exc)
            return f"cannot set up the driver: {exc}"
        self.driver = driver
        try:
            await driver.run()
            return "the printer connection closed"
        except DriverError as exc:
            log.warning("printer %s: %s", self.printer_id, exc or type(exc).__name__)
            return str(exc) or type(exc).__name__
        except Exception as exc:
            # A driver bug must not take the agent (and every other printer) down.
            log.exception("printer %s: driver failed", self.printer_id)
            return f"driver failure: {type(exc).__name__}: {exc}"
        finally:
            if isinstance(driver, CountsLink):
                self._past_link_counts += driver.link_counts
            self.driver = None

    def _went_offline(self, reason: str) -> None:
        self.snapshot = PrinterSnapshot(status=PrinterStatus.OFFLINE, message=reason)
        self._reporter.mark_dirty(self.printer_id)
        if self._online:
            self._online = False
            self._enqueue(_Offline(reason))

    def _listener(self, event: DriverEvent) -> None:
        if isinstance(event, TelemetryUpdated):
            self.snapshot = event.snapshot
            self._telemetry_dirty.set()
        elif isinstance(event, StateChanged):
            self._state_changed(event.snapshot)
        elif isinstance(event, ForeignJobSeen):
            self._foreign_job = event.name
            self._reporter.mark_dirty(self.printer_id)
        else:
            self._enqueue(event)

    def _state_changed(self, snapshot: PrinterSnapshot) -> None:
        old = self.snapshot.status
        self.snapshot = snapshot
        status = snapshot.status
        if status is PrinterStatus.IDLE:
            self._foreign_job = None
        # Online once the printer answers: a known firmware or a working status (BUSY
        # without a firmware is the driver still connecting).
        answering = snapshot.firmware is not None or status not in _NOT_ANSWERING
        if answering and not self._online:
            self._online = True
            self._enqueue(_Online(snapshot.firmware))
        elif status is PrinterStatus.OFFLINE and self._online:
            self._online = False
            self._enqueue(_Offline(snapshot.message or "the printer went offline"))
        if status is PrinterStatus.ERROR and old is not PrinterStatus.ERROR:
            self._enqueue(_Error(snapshot.message or "the printer reported an error"))
        self._reporter.mark_dirty(self.printer_id)
        self._telemetry_dirty.set()

    def _enqueue(self, happening: _Happening) -> None:
        try:
            self._happenings.put_nowait(happening)
        except asyncio.QueueFull:
            # The consumer only writes to SQLite; a full queue means the disk is stuck.
            log.error("printer %s: event queue full, dropped %r", self.printer_id, happening)

    async def _handle_happenings(self) -> None:
        while True:
            happening = await self._happenings.get()
            await self._handle(happening)

    async def _handle(self, happening: _Happening) -> None:
        pid = self.printer_id
        if isinstance(happening, _Online):
            firmware = happening.firmware
            await self._reporter.event(
                lambda seq, eid: PrinterOnlineEvent(
                    event_id=eid, seq=seq, ts=convert.utc_now(), printer_id=pid, firmware=firmware
                ),
                RowKind.EVENT,
            )
            if self.cooldown_on_connect:
                await self._cooldown_after_restart()
        elif isinstance(happening, _Offline):
            reason = happening.reason
            await self._reporter.event(
                lambda seq, eid: PrinterOfflineEvent(
                    event_id=eid, seq=seq, ts=convert.utc_now(), printer_id=pid, reason=reason
                ),
                RowKind.EVENT,
            )
            if self.kind == "serial":
                # Without its host a serial print stops; if the driver did not say so, we do.
                await self.jobs.fail_current(pid, f"the printer went offline: {reason}")
                self._on_job_end()
        elif isinstance(happening, _Error):
            message = happening.message
            await self._reporter.event(
                lambda seq, eid: PrinterErrorEvent(
                    event_id=eid, seq=seq, ts=convert.utc_now(), printer_id=pid, message=message
                ),
                RowKind.EVENT,
            )
        else:
            await self._job_event(happening)

    async def _job_event(self, event: DriverEvent) -> None:
        pid = self.printer_id
        if isinstance(event, JobStarted):
            await self.jobs.started(pid, event.job_id)
        elif isinstance(event, JobPaused | JobResumed):
            paused = isinstance(event, JobPaused)
            await self.jobs.paused_or_resumed(pid, event.job_id, paused=paused)
        elif isinstance(event, JobCompleted):
            await self.jobs.completed(pid, event.job_id, event.duration_s)
            self._job_over()
        elif isinstance(event, JobFailed):
            await self.jobs.failed(
                pid, event.job_id, event.reason, event.progress_pct, event.duration_s
            )
            self._job_over()
        elif isinstance(event, JobCancelled):
            await self.jobs.cancelled(pid, event.job_id, event.progress_pct, event.duration_s)
            self._job_over()

    def _job_over(self) -> None:
        self._executor.release_file()
        self._on_job_end()

    async def _cooldown_after_restart(self) -> None:
        self.cooldown_on_connect = False
        driver = self.driver
        if driver is None:
            return
        try:
            async with asyncio.timeout(COOLDOWN_TIMEOUT_S):
                await driver.cooldown()
            log.info("printer %s: heaters off after the interrupted print", self.printer_id)
        except (DriverError, TimeoutError) as exc:
            log.warning("printer %s: could not turn the heaters off: %s", self.printer_id, exc)

    async def _handle_commands(self) -> None:
        while True:
            pending = await self._commands.get()
            try:
                outcome = await self._executor.execute(pending.command)
                await pending.done(pending.command, outcome)
            finally:
                # After the reply is stored (a repeat meanwhile is still "running"), or
                # when cut off: a repeat is then answered as interrupted.
                self._command_ids.discard(pending.command.command_id)

    async def _publish_telemetry(self) -> None:
        while True:
            await self._telemetry_dirty.wait()
            self._telemetry_dirty.clear()
            snapshot = self.snapshot
            if snapshot.status is PrinterStatus.OFFLINE:
                continue
            await self.jobs.note_progress(self.printer_id, snapshot.job)
            await self._reporter.telemetry(
                self.printer_id, convert.telemetry(self.printer_id, snapshot)
            )
            # Coalescing: at most one sample per interval, whatever the driver's rate.
            await asyncio.sleep(self._settings.telemetry_interval_s)
