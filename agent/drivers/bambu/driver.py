"""`BambuDriver`: a Bambu Lab printer in LAN mode, behind the agent's `Driver` protocol.

The printer pushes its reports over MQTT (`link.py`); every message is merged into the
held report (`state.merge_report`: P1/A1 printers send only what changed) and fed to one
`JobTracker`, which keeps the job this driver started in a `JobMemory`. Files go to the
printer's card over implicit FTPS (`ftps.py`) and print with `gcode_file`.

The printer's certificate is self-signed. Unless the connection names a fingerprint, the
first one seen is pinned in the agent's store (trust on first use, as SSH does); MQTT and
FTPS are checked against the same pin, before the access code is sent, and a change takes
the printer offline (or fails the upload) with both fingerprints in the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

from agent.drivers.bambu import ftps
from agent.drivers.bambu.config import BambuConfig
from agent.drivers.bambu.link import (
    AccessRefusedError,
    BambuLink,
    CertificateMismatchError,
    CommandRefusedError,
    LinkError,
    NoAnswerError,
)
from agent.drivers.bambu.state import (
    firmware,
    has_chamber_sensor,
    materials,
    merge_report,
    observe,
    temperatures,
)
from agent.drivers.bambu.tracker import ACTIVE, BambuJob, JobTracker, baseline, shows
from agent.drivers.base import (
    ConnectionLostError,
    DriverError,
    EventListener,
    InvalidCommandError,
    InvalidFileError,
    JobProgress,
    JobStarted,
    LoadedMaterial,
    PrinterBusyError,
    PrinterOfflineError,
    PrinterSnapshot,
    Temperatures,
)
from agent.drivers.memory import InMemoryJobMemory, JobMemory
from agent.drivers.reporting import SnapshotReporter, gcode_lines, require_idle
from agent.drivers.uploads import content_named
from shared.enums import PrinterStatus

logger = logging.getLogger(__name__)

# Where uploads go on the card, and how the start names them (OpenBambuAPI mqtt.md
# `print.gcode_file`: a path on the printer's card).
CARD_FOLDER = "/cache"
# P1/A1 printers send AMS data only in a full report (bambu-rs docs/protocol.md §AMS):
# ask for one this often so loaded materials stay current.
FULL_REPORT_EVERY_S = 300.0


class BambuDriver:
    def __init__(
        self,
        config: BambuConfig,
        listener: EventListener,
        memory: JobMemory[BambuJob] | None = None,
        pin: JobMemory[str] | None = None,
    ) -> None:
        self._config = config
        waiting = PrinterSnapshot(status=PrinterStatus.OFFLINE, message="not connected yet")
        self._out = SnapshotReporter(listener, waiting)
        # The certificate's SHA-256 learnt on first contact (the connection's own wins).
        self._pin = pin if pin is not None else InMemoryJobMemory[str]()
        self._link: BambuLink | None = None
        self._report: dict[str, Any] = {}
        self._firmware: str | None = None
        # P1/A1 printers report a meaningless chamber number; get_version tells the model.
        self._chamber_sensor = False
        self._temps = Temperatures()
        self._materials: tuple[LoadedMaterial, ...] = ()
        self._jobs = JobTracker(
            memory if memory is not None else InMemoryJobMemory[BambuJob](),
            self._out.emit,
            self._publish,
            end_grace_s=config.end_grace_s,
            ended=self._remove_upload,
        )
        self._background: set[asyncio.Task[None]] = set()
        # A refused start holds the printer in `error` until this (monotonic) time.
        self._held_until = 0.0
        self._held_reason = ""
        self._timers: set[asyncio.TimerHandle] = set()
        # Uploads and removals of the card's files, one at a time: a removal of the last
        # job's file must not land after the next job's upload of the same name.
        self._card = asyncio.Lock()
        # The file a start in progress uploads and prints (not yet the tracker's job).
        self._starting: str | None = None

    @property
    def snapshot(self) -> PrinterSnapshot:
        return self._out.snapshot

    # --- run -----------------------------------------------------------------------------

    async def run(self) -> None:
        cfg = self._config
        pinned = await self._pinned()
        try:
            async with BambuLink.open(
                cfg.host,
                cfg.mqtt_port,
                cfg.serial,
                cfg.access_code,
                pinned=pinned,
                timeout_s=cfg.request_timeout_s,
            ) as link:
                if pinned is None:
                    logger.info("bambu %s: pinned certificate %s", cfg.serial, link.fingerprint)
                    await self._pin.set(link.fingerprint)
                await self._session(link)
        except AccessRefusedError as exc:
            self._publish(PrinterStatus.OFFLINE, str(exc), None)
            # The printer locks LAN logins after repeated failures: wait long before the
            # same code is tried again (a new access code restarts the driver at once).
            await asyncio.sleep(cfg.refused_login_backoff_s)  # backoff, not synchronisation
            raise ConnectionLostError(str(exc)) from None
        except (CertificateMismatchError, LinkError) as exc:
            self._publish(PrinterStatus.OFFLINE, str(exc), None)
            raise ConnectionLostError(str(exc)) from None
        finally:
            self._link = None
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()

    async def _pinned(self) -> str | None:
        return self._config.fingerprint or await self._pin.get()

    async def _session(self, link: BambuLink) -> None:
        self._report = {}
        await self._jobs.load()
        if self._jobs.job is not None:
            self._look_again_in(self._config.end_grace_s + 0.1)
        # The version first: the printer answers in order, so the first snapshot, made
        # from the full report, already names the firmware and knows the model.
        await link.send({"info": {"sequence_id": "0", "command": "get_version"}})
        await link.send({"pushing": {"sequence_id": "0", "command": "pushall"}})
        self._link = link
        refresher = asyncio.create_task(self._ask_full_reports(link))
        try:
            async for message in link.reports():
                await self._take(message)
        finally:
            refresher.cancel()
            # The refresher's own failure (a write to a broken link) must not hide the
            # reason the session ended.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await refresher

    async def _ask_full_reports(self, link: BambuLink) -> None:
        while True:
            await asyncio.sleep(FULL_REPORT_EVERY_S)  # a refresh period, not synchronisation
            await link.send({"pushing": {"sequence_id": "0", "command": "pushall"}})

    async def _take(self, message: dict[str, Any]) -> None:
        info = message.get("info")
        if isinstance(info, dict) and info.get("command") == "get_version":
            self._firmware = firmware(info) or self._firmware
            self._chamber_sensor = has_chamber_sensor(info)
        body = message.get("print")
        if not isinstance(body, dict) or "result" in body:
            if info is not None and self._report:
                await self._jobs.observe(observe(self._report))
            return  # an acknowledgement: the reports that follow say what changed
        self._report = merge_report(self._report, body)
        self._temps = temperatures(self._report, chamber_sensor=self._chamber_sensor)
        self._materials = materials(self._report)
        await self._jobs.observe(observe(self._report))

    def _publish(self, status: PrinterStatus, message: str | None, job: JobProgress | None) -> None:
        if status is PrinterStatus.IDLE and time.monotonic() < self._held_until:
            status, message = PrinterStatus.ERROR, self._held_reason
        self._out.publish(
            PrinterSnapshot(
                status=status,
                firmware=self._firmware,
                temperatures=self._temps,
                job=job,
                message=message,
                materials=self._materials,
            )
        )

    # --- commands ------------------------------------------------------------------------

    async def start_job(self, job_id: str, gcode_path: Path) -> None:
        try:
            upload = await asyncio.to_thread(content_named, gcode_path)
        except OSError as exc:
            raise InvalidFileError(f"cannot read G-code file {gcode_path}: {exc}") from exc
        link = self._require_idle()
        self._starting = upload.name
        try:
            await self._start(link, job_id, gcode_path, upload.name, upload.size)
        except (PrinterBusyError, PrinterOfflineError):
            raise
        except DriverError as exc:
            self._hold(str(exc))
            raise
        finally:
            self._starting = None

    def _hold(self, reason: str) -> None:
        """The printer refused a start for a reason of its own: show it, and keep the
        queue away for a while (the refused job goes back to the queue)."""
        hold_s = self._config.refused_start_hold_s
        self._held_until = time.monotonic() + hold_s
        self._held_reason = f"{reason} (offered jobs again in {hold_s / 60:.0f} min)"
        snap = self.snapshot
        if snap.status is PrinterStatus.IDLE:
            self._publish(PrinterStatus.IDLE, snap.message, None)
        self._look_again_in(hold_s)

    def _look_again_in(self, delay_s: float) -> None:
        """P1/A1 printers report only what changes, and nothing while nothing does: when a
        decision waits on time (a hold ends, a start's grace runs out), the held report is
        looked at again then."""

        def fire() -> None:
            self._timers.discard(timer)
            self._look_again()

        timer = asyncio.get_running_loop().call_later(delay_s, fire)
        self._timers.add(timer)

    def _look_again(self) -> None:
        if self._report and self._link is not None:
            self._in_background(self._jobs.observe(observe(self._report)))

    async def _start(
        self, link: BambuLink, job_id: str, gcode_path: Path, name: str, size: int
    ) -> None:
        remote = f"{CARD_FOLDER}/{name}"
        await self._upload(gcode_path, remote, size)
        async with _mapped_errors("start the print"), self._jobs.lock:
            self._require_idle()
            now = observe(self._report)
            record = BambuJob(
                job_id, name, time.time(), before=baseline(now), error_before=now.print_error
            )
            await self._jobs.begin(record)
            self._look_again_in(self._config.end_grace_s + 0.1)
            try:
                await link.request(
                    "print", "gcode_file", param=remote, timeout_s=self._config.request_timeout_s
                )
            except NoAnswerError:
                # The acknowledgement may be what was lost: if the reports (merged while we
                # waited) show our file printing, the start worked; failing it would let the
                # queue print the job a second time elsewhere.
                if not self._printing_our_file(record):
                    await self._jobs.abandon()
                    raise
                logger.warning("no acknowledgement of %s, but the printer prints it", remote)
            except BaseException:
                await self._jobs.abandon()
                raise
            self._out.emit(JobStarted(job_id))
            self._publish(PrinterStatus.PRINTING, None, JobProgress(job_id, 0.0, 0.0, None))

    def _printing_our_file(self, record: BambuJob) -> bool:
        now = observe(self._report)
        return shows(record, now) and now.gcode_state in ACTIVE

    async def _upload(self, source: Path, remote: str, size: int) -> None:
        cfg = self._config
        logger.info("uploading %s (%d bytes) to the printer's card", remote, size)
        try:
            async with self._card:
                seen = await asyncio.to_thread(
                    ftps.upload,
                    cfg.host,
                    cfg.ftps_port,
                    cfg.access_code,
                    source,
                    remote,
                    fingerprint=await self._pinned(),
                    # Per network step (connect, each block, each reply), not the whole upload.
                    timeout=cfg.request_timeout_s,
                )
        except ftps.UploadError as exc:
            raise DriverError(f"upload to the printer failed: {exc}") from exc
        if await self._pinned() is None:
            await self._pin.set(seen)

    def _remove_upload(self, rec: BambuJob) -> None:
        """A job's file leaves the card when the job ends: the card is small, and every
        start uploads its file anew (there is no cheap listing to reuse one)."""
        self._in_background(self._delete(f"{CARD_FOLDER}/{rec.filename}"))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` without waiting for it, holding a reference until it is done."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _delete(self, remote: str) -> None:
        async with self._card:
            current = self._jobs.job
            in_use = {self._starting, current.filename if current is not None else None}
            if remote.rsplit("/", 1)[-1] in in_use:
                return  # the next job prints the same file: it stays
            await self._delete_now(remote)

    async def _delete_now(self, remote: str) -> None:
        cfg = self._config
        try:
            await asyncio.to_thread(
                ftps.delete,
                cfg.host,
                cfg.ftps_port,
                cfg.access_code,
                remote,
                fingerprint=await self._pinned(),
                timeout=cfg.request_timeout_s,
            )
        except ftps.UploadError as exc:
            logger.warning("could not remove %s from the printer's card: %s", remote, exc)

    async def pause(self) -> None:
        await self._job_command("pause")

    async def resume(self) -> None:
        await self._job_command("resume")

    async def cancel(self) -> None:
        async with self._jobs.lock:
            await self._jobs.note_cancel_requested()
        try:
            await self._job_command("stop")
        except DriverError:
            async with self._jobs.lock:
                await self._jobs.note_cancel_refused()
            raise

    async def home(self) -> None:
        if self.snapshot.status is not PrinterStatus.IDLE:
            raise PrinterBusyError(f"cannot home while the printer is {self.snapshot.status}")
        await self._gcode(["G28"])

    async def cooldown(self) -> None:
        await self._gcode(["M104 S0", "M140 S0"])

    async def send_gcode(self, lines: list[str]) -> list[str]:
        # The printer acknowledges gcode_line but sends no console replies over LAN MQTT.
        await self._gcode(gcode_lines(lines))
        return []

    async def _gcode(self, lines: list[str]) -> None:
        link = self._require_link()
        async with _mapped_errors("run G-code"):
            await link.request(
                "print",
                "gcode_line",
                param="\n".join(lines) + "\n",
                timeout_s=self._config.request_timeout_s,
            )

    async def _job_command(self, command: str) -> None:
        link = self._require_link()
        if self._jobs.job is None:
            if self._jobs.foreign_job is not None:
                raise PrinterBusyError("the running print was not started by AutoPrintFarm")
            raise PrinterBusyError("no job is printing")
        async with _mapped_errors(command):
            await link.request("print", command, param="", timeout_s=self._config.request_timeout_s)

    def _require_link(self) -> BambuLink:
        if self._link is None:
            raise PrinterOfflineError(self.snapshot.message or "not connected to the printer")
        return self._link

    def _require_idle(self) -> BambuLink:
        link = self._require_link()
        require_idle(self.snapshot, job_running=self._jobs.job is not None)
        return link


@contextlib.asynccontextmanager
async def _mapped_errors(what: str) -> AsyncIterator[None]:
    """The printer's refusals as the `DriverError` a command reply carries."""
    try:
        yield
    except (CommandRefusedError, NoAnswerError) as exc:
        raise InvalidCommandError(f"could not {what}: {exc}") from exc
    except LinkError as exc:
        raise PrinterOfflineError(str(exc)) from exc
