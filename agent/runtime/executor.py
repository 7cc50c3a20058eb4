"""Carrying out one command on one printer, with a timeout and an error a person can read."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from agent.drivers.base import (
    Driver,
    DriverError,
    InvalidCommandError,
    PrinterBusyError,
    PrinterOfflineError,
)
from agent.files.cache import FileCache
from agent.files.estimate import estimate_filament_mm
from agent.runtime.jobs import JobBook
from agent.runtime.ledger import JobRecord
from shared.enums import PrinterStatus
from shared.logs import log_context
from shared.wire import (
    CancelJob,
    Command,
    Cooldown,
    HomeAxes,
    PauseJob,
    RawGcode,
    ResumeJob,
    StartJob,
)

if TYPE_CHECKING:
    from agent.runtime.supervisor import PrinterSupervisor

log = logging.getLogger(__name__)
T = TypeVar("T")

# Homing can take a while on a big printer (slow Z); the rest answers in seconds.
HOME_TIMEOUT_S = 180.0
ACTION_TIMEOUT_S = 60.0
START_TIMEOUT_S = 300.0  # OctoPrint uploads the file first
GCODE_TIMEOUT_S = 120.0
MAX_REPLY_MESSAGE_CHARS = 4000


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    ok: bool
    error: DriverError | None = None
    message: str | None = None


class TimedOutError(DriverError):
    """The printer did not finish the command in time."""


class CommandExecutor:
    def __init__(self, supervisor: PrinterSupervisor, jobs: JobBook, files: FileCache) -> None:
        self._sup = supervisor
        self._jobs = jobs
        self._files = files
        self._pinned: Path | None = None

    async def execute(self, command: Command) -> CommandOutcome:
        name = type(command).__struct_config__.tag
        pid = self._sup.printer_id
        log.info("printer %s: command %s (%s)", pid, command.command_id, name)
        try:
            message = await self._run(command)
        except DriverError as exc:
            log.warning("printer %s: command %s refused: %s", pid, command.command_id, exc)
            return CommandOutcome(ok=False, error=exc, message=str(exc) or type(exc).__name__)
        except Exception as exc:
            log.exception("printer %s: command %s failed", pid, command.command_id)
            return CommandOutcome(
                ok=False, error=DriverError(str(exc)), message=f"{type(exc).__name__}: {exc}"
            )
        log.info("printer %s: command %s done", pid, command.command_id)
        return CommandOutcome(ok=True, message=message)

    def _driver(self) -> Driver:
        driver = self._sup.driver
        if driver is None or self._sup.status is PrinterStatus.OFFLINE:
            raise PrinterOfflineError(f"printer {self._sup.printer_id} is not connected")
        return driver

    async def _run(self, command: Command) -> str | None:
        if isinstance(command, StartJob):
            with log_context(job_id=command.job_id):  # what starting it logs names the job
                return await self._start_job(command)
        driver = self._driver()
        if isinstance(command, RawGcode):
            lines = await _timed(driver.send_gcode(command.lines), GCODE_TIMEOUT_S, "G-code")
            text = "\n".join(lines)
            return text[-MAX_REPLY_MESSAGE_CHARS:] if text else None
        if isinstance(command, PauseJob | ResumeJob | CancelJob) and command.job_id is not None:
            await self._check_job(command.job_id)
        if isinstance(command, HomeAxes):
            await _timed(driver.home(), HOME_TIMEOUT_S, "home")
        elif isinstance(command, PauseJob):
            await _timed(driver.pause(), ACTION_TIMEOUT_S, "pause")
        elif isinstance(command, ResumeJob):
            await _timed(driver.resume(), ACTION_TIMEOUT_S, "resume")
        elif isinstance(command, CancelJob):
            await _timed(driver.cancel(), ACTION_TIMEOUT_S, "cancel")
        elif isinstance(command, Cooldown):
            await _timed(driver.cooldown(), ACTION_TIMEOUT_S, "cooldown")
        return None

    async def _check_job(self, job_id: str) -> None:
        current = await self._jobs.current(self._sup.printer_id)
        if current is None or current.job_id != job_id:
            doing = f"job {current.job_id}" if current is not None else "no job"
            raise InvalidCommandError(
                f"printer {self._sup.printer_id} runs {doing}, not job {job_id}"
            )

    def _check_free(self, current: JobRecord | None) -> None:
        self._driver()
        if current is not None:
            raise PrinterBusyError(
                f"printer {self._sup.printer_id} is busy with job {current.job_id}"
            )
        status = self._sup.status
        if status is not PrinterStatus.IDLE:
            raise PrinterBusyError(f"printer {self._sup.printer_id} is {status.value}, not idle")

    async def _start_job(self, command: StartJob) -> str:
        pid = self._sup.printer_id
        self._check_free(await self._jobs.current(pid))
        path = await self._files.fetch(command.file_url, command.sha256, command.size_bytes)
        self._files.pin(path)
        try:
            filament_mm = await estimate_filament_mm(path)
            # The download may have taken minutes: look again before touching the printer.
            self._check_free(await self._jobs.current(pid))
            driver = self._driver()
            await self._jobs.begin(
                JobRecord(
                    printer_id=pid,
                    job_id=command.job_id,
                    driver_kind=self._sup.kind,
                    started_at=time.time(),
                    filament_mm=filament_mm,
                    detail={"command_id": command.command_id, "file": path.name},
                )
            )
        except BaseException:
            self._files.unpin(path)
            raise
        self.release_file()
        self._pinned = path
        try:
            await _timed(driver.start_job(command.job_id, path), START_TIMEOUT_S, "start job")
        except BaseException as exc:
            await asyncio.shield(self._jobs.abandon(pid, command.job_id, f"could not start: {exc}"))
            self.release_file()
            raise
        return f"job {command.job_id} started"

    def release_file(self) -> None:
        if self._pinned is not None:
            self._files.unpin(self._pinned)
            self._pinned = None


async def _timed(operation: Awaitable[T], timeout_s: float, what: str) -> T:
    try:
        async with asyncio.timeout(timeout_s):
            return await operation
    except TimeoutError:
        raise TimedOutError(f"the printer did not finish {what} within {timeout_s:.0f} s") from None
