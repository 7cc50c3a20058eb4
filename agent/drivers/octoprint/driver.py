"""`OctoPrintDriver`: a printer that OctoPrint runs, behind the agent's `Driver` protocol.

State arrives through OctoPrint's push socket (about every 0.5 s) and, as a safety net and
while the socket is down, through REST polling; both feed one `JobTracker`, which keeps
the job this driver started in a `JobMemory` (re-attach after an agent restart, prints
started in OctoPrint's UI told apart, an end reported once). This module owns the
connection: the loops, connecting OctoPrint to its printer, and the commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec

from agent.config import redact_url
from agent.drivers.base import (
    ConnectionLostError,
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
from agent.drivers.octoprint import push
from agent.drivers.octoprint.client import (
    API_KEY_REJECTED,
    OctoPrintAuthError,
    OctoPrintClient,
    OctoPrintConflict,
    OctoPrintError,
    OctoPrintRequestError,
    OctoPrintUnavailable,
)
from agent.drivers.octoprint.config import OctoPrintConfig
from agent.drivers.octoprint.jobs import JobRecord, print_count
from agent.drivers.octoprint.models import (
    CurrentData,
    PrinterState,
    PushEvent,
)
from agent.drivers.octoprint.replies import ReplyCollector
from agent.drivers.octoprint.state import (
    heaters_in,
    temperatures_from,
)
from agent.drivers.octoprint.tracker import JobTracker
from agent.drivers.reporting import SnapshotReporter, gcode_lines, require_idle
from agent.drivers.tasks import until_first_failure
from shared.enums import PrinterStatus

logger = logging.getLogger(__name__)

# Which push messages we want: state with the terminal log (for send_gcode replies), all
# events, no plugin messages (server/util/sockjs.py `on_message` "subscribe").
_SUBSCRIBE: dict[str, Any] = {
    "state": {"logs": True, "messages": False},
    "events": True,
    "plugins": False,
}
_JOB_STATUSES = (PrinterStatus.PRINTING, PrinterStatus.PAUSED)


class OctoPrintDriver:
    def __init__(
        self,
        config: OctoPrintConfig,
        listener: EventListener,
        memory: JobMemory[JobRecord] | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._transport = transport
        self._out = SnapshotReporter(
            listener,
            PrinterSnapshot(status=PrinterStatus.OFFLINE, message="not connected to OctoPrint yet"),
        )
        self._client: OctoPrintClient | None = None
        self._firmware: str | None = None
        self._temps = Temperatures()
        self._heaters: list[str] = []
        self._push_live = False
        self._push_ready = asyncio.Event()
        self._last_connect_try = -math.inf
        self._collectors: set[ReplyCollector] = set()
        self._jobs = JobTracker(
            memory if memory is not None else InMemoryJobMemory[JobRecord](),
            self._out.emit,
            self._publish,
            end_grace_s=config.end_grace_s,
            delete_finished_uploads=config.delete_finished_uploads,
        )

    @property
    def snapshot(self) -> PrinterSnapshot:
        return self._out.snapshot

    @property
    def push_connected(self) -> bool:
        """True while state arrives through the push socket (not only by polling)."""
        return self._push_live

    # --- run -----------------------------------------------------------------------------

    async def run(self) -> None:
        cfg = self._config
        async with OctoPrintClient(
            cfg.url,
            cfg.api_key,
            timeout_s=cfg.request_timeout_s,
            upload_timeout_s=cfg.upload_timeout_s,
            transport=self._transport,
        ) as client:
            try:
                await self._session(client)
            except OctoPrintAuthError:
                self._publish(PrinterStatus.ERROR, API_KEY_REJECTED, None)
                raise ConnectionLostError(API_KEY_REJECTED) from None
            except OctoPrintUnavailable as exc:
                self._jobs.lost_contact()
                self._publish(
                    PrinterStatus.OFFLINE, f"OctoPrint unreachable at {redact_url(cfg.url)}", None
                )
                raise ConnectionLostError(str(exc)) from exc
            finally:
                self._client = None
                self._push_live = False
                self._push_ready.clear()

    async def _session(self, client: OctoPrintClient) -> None:
        version = await client.version()
        self._firmware = f"OctoPrint {version.server}"
        await self._jobs.load()
        self._client = client
        self._last_connect_try = -math.inf  # a restarted OctoPrint needs its printer now
        await self._poll_once(client)
        await self._maybe_connect(client)
        await until_first_failure(self._poll_loop(client), self._push_loop(client))

    async def _poll_loop(self, client: OctoPrintClient) -> None:
        cfg = self._config
        while True:
            # Pacing, not synchronisation: REST is the safety net while the socket is up
            # and the only source while it is down.
            await asyncio.sleep(
                cfg.push_poll_interval_s if self._push_live else cfg.poll_interval_s
            )
            try:
                await self._poll_once(client)
                await self._maybe_connect(client)
            except (OctoPrintConflict, OctoPrintRequestError) as exc:
                logger.warning("OctoPrint poll at %s refused: %s", redact_url(cfg.url), exc)

    async def _poll_once(self, client: OctoPrintClient) -> None:
        job = await client.job()
        printer = await client.printer()
        if printer is not None:
            state = printer.state
            temps: Temperatures | None = temperatures_from(printer.temperature)
            self._heaters = heaters_in(printer.temperature) or self._heaters
        else:
            state, temps = PrinterState(text=job.state, error=job.error), None
        self._temps = temps or self._temps
        await self._jobs.observe(client, state, job.job, job.progress)

    async def _push_loop(self, client: OctoPrintClient) -> None:
        failures = 0
        while True:
            try:
                login = await client.passive_login()
                auth = f"{login.name}:{login.session}"
                stream = push.messages(client.http, auth, _SUBSCRIBE)
                async with contextlib.aclosing(stream) as messages:
                    async for message in messages:
                        self._push_live, failures = True, 0
                        self._push_ready.set()
                        await self._on_push(client, message)
            except (push.PushUnavailable, OctoPrintRequestError, OctoPrintConflict) as exc:
                failures += 1
                # Say it once; a socket that stays blocked (a proxy) is retried quietly.
                level = logging.INFO if failures == 1 else logging.DEBUG
                logger.log(level, "OctoPrint push socket at %s: %s", client.base_url, exc)
            finally:
                self._push_live = False
                self._push_ready.clear()
            # Is OctoPrint itself gone? A failed poll ends run() with ConnectionLostError.
            await self._poll_once(client)
            await asyncio.sleep(self._config.push_retry_s)

    async def _maybe_connect(self, client: OctoPrintClient) -> None:
        """Connect OctoPrint to its printer when it has none (`POST /api/connection`)."""
        # Only a plain Offline/Closed OctoPrint is connected. After "Error"/"Offline after
        # error" (a firmware error such as a thermal runaway makes OctoPrint disconnect) a
        # person should look at the printer before it takes jobs again.
        closed = self.snapshot.status is PrinterStatus.OFFLINE
        now = time.monotonic()
        if not closed or now - self._last_connect_try < self._config.connect_retry_s:
            return
        self._last_connect_try = now
        cfg = self._config
        logger.info(
            "connecting OctoPrint at %s to its printer (port %s)", redact_url(cfg.url), cfg.port
        )
        try:
            await client.connect(cfg.port, cfg.baudrate, cfg.printer_profile)
        except (OctoPrintConflict, OctoPrintRequestError) as exc:
            logger.warning(
                "OctoPrint at %s could not connect its printer: %s", redact_url(cfg.url), exc
            )

    # --- what OctoPrint tells us ---------------------------------------------------------

    async def _on_push(self, client: OctoPrintClient, message: dict[str, Any]) -> None:
        try:
            if "current" in message or "history" in message:
                data = msgspec.convert(message.get("current") or message["history"], CurrentData)
                if "current" in message:
                    # `history` replays the last few hundred log lines: never replies to us.
                    for line in data.logs:
                        for collector in self._collectors:
                            collector.feed(line)
                if data.temps:
                    self._temps = temperatures_from(data.temps[-1])
                    self._heaters = heaters_in(data.temps[-1]) or self._heaters
                await self._jobs.observe(client, data.state, data.job, data.progress)
            elif "event" in message:
                await self._jobs.on_event(client, msgspec.convert(message["event"], PushEvent))
            elif "reauthRequired" in message:
                raise push.PushUnavailable("OctoPrint asked the socket to re-authenticate")
        except msgspec.ValidationError as exc:
            logger.warning("ignoring an OctoPrint push message we cannot read: %s", exc)

    # --- reporting -----------------------------------------------------------------------

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
        if not await asyncio.to_thread(gcode_path.is_file):
            raise InvalidFileError(f"cannot read G-code file {gcode_path}")
        client = self._require_idle()
        async with _mapped_errors():
            # Upload outside the lock: it can take a while, and state must keep flowing.
            uploaded = await client.upload(gcode_path, upload_name(job_id, gcode_path))
            before = print_count(await client.file_info(uploaded.path))
            async with self._jobs.lock:
                self._require_idle()
                await self._jobs.begin(JobRecord(job_id, uploaded.path, before, time.time()))
                try:
                    await client.select_and_print(uploaded.path)
                except BaseException:
                    await self._jobs.abandon()
                    with contextlib.suppress(OctoPrintError):
                        await client.delete_file(uploaded.path)
                    raise
                self._out.emit(JobStarted(job_id))
                self._publish(PrinterStatus.PRINTING, None, JobProgress(job_id, 0.0, 0.0, None))

    async def pause(self) -> None:
        await self._job_command("pause", "pause")

    async def resume(self) -> None:
        await self._job_command("pause", "resume")

    async def cancel(self) -> None:
        async with self._jobs.lock:
            await self._jobs.note_cancel_requested()
        await self._job_command("cancel", None)

    async def home(self) -> None:
        client = self._require_client()
        if self.snapshot.status is not PrinterStatus.IDLE:
            raise PrinterBusyError(f"cannot home while the printer is {self.snapshot.status}")
        async with _mapped_errors():
            await client.home(["x", "y", "z"])

    async def cooldown(self) -> None:
        client = self._require_client()
        heaters = self._heaters or ["tool0", "bed"]
        async with _mapped_errors():
            await client.set_targets({name: 0.0 for name in heaters})

    async def send_gcode(self, lines: list[str]) -> list[str]:
        lines = gcode_lines(lines)
        client = self._require_client()
        if self.snapshot.status in _JOB_STATUSES or self._jobs.job or self._jobs.foreign_path:
            raise PrinterBusyError("raw G-code is only sent outside a job")
        if self.snapshot.status is PrinterStatus.OFFLINE:
            raise PrinterOfflineError(self.snapshot.message or "printer offline")
        # Replies only come through the socket's terminal log: give a socket that is
        # (re)opening a moment. Without it the lines are still sent, with no replies.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._config.gcode_reply_timeout_s):
                await self._push_ready.wait()
        collector = ReplyCollector(lines)
        self._collectors.add(collector)
        try:
            async with _mapped_errors():
                await client.send_commands(lines)
            if self._push_live:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._config.gcode_reply_timeout_s):
                        await collector.done.wait()
        finally:
            self._collectors.discard(collector)
        return collector.replies

    async def _job_command(self, command: str, action: str | None) -> None:
        client = self._require_client()
        if self._jobs.job is None:
            if self._jobs.foreign_path is not None:
                raise PrinterBusyError("the running print was not started by AutoPrintFarm")
            raise PrinterBusyError("no job is printing")
        async with _mapped_errors():
            await client.job_command(command, action)

    def _require_client(self) -> OctoPrintClient:
        if self._client is None:
            raise PrinterOfflineError(self.snapshot.message or "not connected to OctoPrint")
        return self._client

    def _require_idle(self) -> OctoPrintClient:
        client = self._require_client()
        require_idle(self.snapshot, job_running=self._jobs.job is not None)
        return client


def upload_name(job_id: str, gcode_path: Path) -> str:
    """`apf-<job>-<original name>.gcode`: unique per job, still readable in OctoPrint's UI."""
    safe_job = re.sub(r"[^A-Za-z0-9_.-]+", "_", job_id)[:64]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", gcode_path.stem)[:64]
    return f"apf-{safe_job}-{stem}.gcode"


@contextlib.asynccontextmanager
async def _mapped_errors() -> AsyncIterator[None]:
    """OctoPrint's refusals as the `DriverError` a command reply carries."""
    try:
        yield
    except OctoPrintConflict as exc:
        raise PrinterBusyError(f"OctoPrint refused: {exc}") from exc
    except (OctoPrintAuthError, OctoPrintUnavailable) as exc:
        raise PrinterOfflineError(str(exc)) from exc
    except OctoPrintRequestError as exc:
        raise InvalidCommandError(str(exc)) from exc
