"""`PrusaLinkDriver`: a Prusa printer behind PrusaLink, behind the agent's `Driver` protocol.

PrusaLink pushes nothing to API clients, so its status is polled (`/api/v1/status`, every
second); each answer feeds one `JobTracker`, which keeps the job this driver started in
a `JobMemory`. This module owns the connection: the poll loop, uploads and commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from agent.config import redact_url
from agent.drivers.base import (
    ConnectionLostError,
    DriverError,
    EventListener,
    InvalidCommandError,
    InvalidFileError,
    JobProgress,
    JobStarted,
    PrinterBusyError,
    PrinterOfflineError,
    PrinterSnapshot,
    Temperatures,
)
from agent.drivers.memory import InMemoryJobMemory, JobMemory
from agent.drivers.prusalink.client import (
    CREDENTIALS_REFUSED,
    PrusaLinkAuthError,
    PrusaLinkClient,
    PrusaLinkConflict,
    PrusaLinkNoAnswer,
    PrusaLinkRequestError,
    PrusaLinkUnavailable,
)
from agent.drivers.prusalink.config import PrusaLinkConfig
from agent.drivers.prusalink.state import observe, temperatures_from
from agent.drivers.prusalink.tracker import JobTracker, PrusaLinkJob
from agent.drivers.reporting import SnapshotReporter, require_idle
from agent.drivers.uploads import content_named
from shared.enums import PrinterStatus

logger = logging.getLogger(__name__)

# Between looks at PrusaLink's listing while a new upload is being indexed.
LISTING_POLL_S = 0.2


# Polls between two readings of /api/version while PrusaLink does not know the firmware yet.
VERSION_RETRY_POLLS = 10


class PrusaLinkDriver:
    def __init__(
        self,
        config: PrusaLinkConfig,
        listener: EventListener,
        memory: JobMemory[PrusaLinkJob] | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._transport = transport
        waiting = PrinterSnapshot(
            status=PrinterStatus.OFFLINE, message="not connected to PrusaLink yet"
        )
        self._out = SnapshotReporter(listener, waiting)
        self._client: PrusaLinkClient | None = None
        self._firmware: str | None = None
        self._temps = Temperatures()
        self._storage = "local"
        self._free_bytes: int | None = None
        self._jobs = JobTracker(
            memory if memory is not None else InMemoryJobMemory[PrusaLinkJob](),
            self._out.emit,
            self._publish,
            end_grace_s=config.end_grace_s,
        )

    @property
    def snapshot(self) -> PrinterSnapshot:
        return self._out.snapshot

    # --- run -----------------------------------------------------------------------------

    async def run(self) -> None:
        cfg = self._config
        async with PrusaLinkClient(
            cfg.url,
            username=cfg.username,
            password=cfg.password,
            api_key=cfg.api_key,
            timeout_s=cfg.request_timeout_s,
            upload_timeout_s=cfg.upload_timeout_s,
            transport=self._transport,
        ) as client:
            try:
                await self._session(client)
            except PrusaLinkAuthError:
                self._publish(PrinterStatus.OFFLINE, CREDENTIALS_REFUSED, None)
                raise ConnectionLostError(CREDENTIALS_REFUSED) from None
            except PrusaLinkUnavailable as exc:
                self._publish(
                    PrinterStatus.OFFLINE, f"PrusaLink unreachable at {redact_url(cfg.url)}", None
                )
                raise ConnectionLostError(str(exc)) from exc
            finally:
                self._client = None

    async def _session(self, client: PrusaLinkClient) -> None:
        knows_firmware = await self._read_version(client)
        await self._find_storage(client)
        await self._jobs.load()
        self._client = client
        polls = 0
        while True:
            await self._poll_once(client)
            polls += 1
            # Just after it starts, PrusaLink answers without the printer's firmware (it has
            # not read it over serial yet): asked again now and then until it knows.
            if not knows_firmware and polls % VERSION_RETRY_POLLS == 0:
                knows_firmware = await self._read_version(client)
            await asyncio.sleep(self._config.poll_interval_s)  # pacing: PrusaLink pushes nothing

    async def _read_version(self, client: PrusaLinkClient) -> bool:
        """Read PrusaLink's and the printer's versions; True once the firmware is known."""
        version = await client.version()
        server, firmware = version.get("server"), version.get("firmware")
        self._firmware = f"PrusaLink {server}" + (f", firmware {firmware}" if firmware else "")
        return bool(firmware)

    async def _find_storage(self, client: PrusaLinkClient) -> None:
        """The writable storage: `local` on a Pi's PrusaLink, `usb` on an MK4's firmware."""
        for storage in await client.storages():
            path = storage.get("path")
            if storage.get("available") and not storage.get("read_only") and isinstance(path, str):
                self._storage = path.strip("/")
                free = storage.get("free_space")
                self._free_bytes = free if isinstance(free, int) else None
                return

    async def _poll_once(self, client: PrusaLinkClient) -> None:
        status = await client.status()
        self._temps = temperatures_from(status)
        await self._jobs.observe(observe(status))

    def _publish(self, status: PrinterStatus, message: str | None, job: JobProgress | None) -> None:
        self._out.publish(
            PrinterSnapshot(
                status=status,
                firmware=self._firmware,
                temperatures=self._temps,
                job=job,
                message=message,
            )
        )

    # --- commands ------------------------------------------------------------------------

    async def start_job(self, job_id: str, gcode_path: Path) -> None:
        try:
            upload = await asyncio.to_thread(content_named, gcode_path)
            name, size = upload.name, upload.size
        except OSError as exc:
            raise InvalidFileError(f"cannot read G-code file {gcode_path}: {exc}") from exc
        client = self._require_idle()
        async with _mapped_errors("upload"):
            await self._find_storage(client)  # its free space now, not at connect
            storage = self._storage
            if not await client.file_listed(storage, name):
                if self._free_bytes is not None and size > self._free_bytes:
                    raise DriverError(
                        f"PrusaLink has no room for this file: {size / 2**20:.1f} MiB, with "
                        f"{self._free_bytes / 2**20:.1f} MiB free on its storage"
                    )
                logger.info("uploading %s (%d bytes) to PrusaLink", name, size)
                await client.upload(storage, name, gcode_path, size)
                await self._wait_listed(client, storage, name)
        async with _mapped_errors("start"):
            async with self._jobs.lock:
                self._require_idle()
                before = self._jobs.last_link_job
                await self._jobs.begin(PrusaLinkJob(job_id, name, time.time(), None, before))
            # Not under the lock: the status polls go on while PrusaLink takes its time to
            # answer, and the tracker learns from them whether our print began.
            try:
                await client.start_print(
                    storage, name, answer_within_s=self._config.start_timeout_s
                )
            except PrusaLinkNoAnswer:
                # Sent and maybe carried out: the job stands while the status may still show
                # it; the tracker fails it if PrusaLink never does.
                logger.warning(
                    "PrusaLink did not answer the start of %s; waiting %.0f s for its status "
                    "to show the print",
                    name,
                    self._config.start_confirm_s,
                )
                self._jobs.start_answered(self._config.start_confirm_s)
            except Exception:
                if not self._jobs.shown:
                    await self._jobs.abandon()
                    raise
                # The answer failed, yet the status shows our print: it began.
                self._jobs.start_answered(self._config.end_grace_s)
            except BaseException:
                await self._jobs.abandon()
                raise
            else:
                # The grace for the status to show the job runs from PrusaLink's answer.
                self._jobs.start_answered(self._config.end_grace_s)
            self._out.emit(JobStarted(job_id))
            self._publish(PrinterStatus.PRINTING, None, self._jobs.progress_so_far(job_id))

    async def _wait_listed(self, client: PrusaLinkClient, storage: str, name: str) -> None:
        """PrusaLink lists a new file once its watcher has indexed it; a start before that
        answers 404. Asked again until listed, within `listing_timeout_s`."""
        try:
            async with asyncio.timeout(self._config.listing_timeout_s):
                # No event tells an API client that the listing changed: ask again.
                while not await client.file_listed(storage, name):  # noqa: ASYNC110
                    await asyncio.sleep(LISTING_POLL_S)
        except TimeoutError:
            raise DriverError(
                f"PrusaLink did not list the uploaded {name} within "
                f"{self._config.listing_timeout_s:.0f} s"
            ) from None

    async def pause(self) -> None:
        await self._job_command("pause")

    async def resume(self) -> None:
        await self._job_command("resume")

    async def cancel(self) -> None:
        async with self._jobs.lock:
            await self._jobs.note_cancel_requested()
        await self._job_command("stop")

    async def home(self) -> None:
        client = self._require_client()
        if self.snapshot.status is not PrinterStatus.IDLE:
            raise PrinterBusyError(f"cannot home while the printer is {self.snapshot.status}")
        async with _mapped_errors("home"):
            await client.home()

    async def cooldown(self) -> None:
        client = self._require_client()
        async with _mapped_errors("cooldown"):
            await client.heaters_off()

    async def send_gcode(self, lines: list[str]) -> list[str]:
        raise InvalidCommandError("PrusaLink's API has no G-code console")

    async def _job_command(self, command: str) -> None:
        client = self._require_client()
        rec = self._jobs.job
        if rec is None:
            if self._jobs.foreign_job is not None:
                raise PrinterBusyError("the running print was not started by AutoPrintFarm")
            raise PrinterBusyError("no job is printing")
        if rec.link_job_id is None:
            raise PrinterBusyError("PrusaLink has not shown our job yet; try again in a moment")
        async with _mapped_errors(command):
            if command == "stop":
                await client.stop_job(rec.link_job_id)
            else:
                await client.job_command(rec.link_job_id, command)

    def _require_client(self) -> PrusaLinkClient:
        if self._client is None:
            raise PrinterOfflineError(self.snapshot.message or "not connected to PrusaLink")
        return self._client

    def _require_idle(self) -> PrusaLinkClient:
        client = self._require_client()
        require_idle(self.snapshot, job_running=self._jobs.job is not None)
        return client


@contextlib.asynccontextmanager
async def _mapped_errors(what: str) -> AsyncIterator[None]:
    """PrusaLink's refusals as the `DriverError` a command reply carries."""
    try:
        yield
    except PrusaLinkConflict as exc:
        raise PrinterBusyError(f"PrusaLink refused to {what}: {exc}") from exc
    except PrusaLinkRequestError as exc:
        raise InvalidCommandError(f"PrusaLink refused to {what}: {exc}") from exc
    except (PrusaLinkAuthError, PrusaLinkUnavailable) as exc:
        raise PrinterOfflineError(str(exc)) from exc
