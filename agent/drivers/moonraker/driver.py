"""`MoonrakerDriver`: a Klipper printer behind Moonraker, behind the agent's `Driver` protocol.

State arrives through Moonraker's websocket (`printer.objects.subscribe`: Klipper pushes
the fields that changed, at most every 250 ms) and, while the socket is down, through REST
polling; every update feeds one `JobTracker`, which keeps the job this driver started in a
`JobMemory` (re-attach after Moonraker or the agent restarted, prints started elsewhere
told apart, an end reported once). This module owns the connection: the loops, the
subscription, the uploads, and the commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

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
from agent.drivers.moonraker.client import (
    API_KEY_REFUSED,
    KlippyNotReady,
    MoonrakerAuthError,
    MoonrakerClient,
    MoonrakerError,
    MoonrakerRequestError,
    MoonrakerServerError,
    MoonrakerUnavailable,
)
from agent.drivers.moonraker.config import MoonrakerConfig
from agent.drivers.moonraker.rpc import (
    MoonrakerSocket,
    RpcError,
    SocketAuthError,
    SocketUnavailable,
    open_socket,
)
from agent.drivers.moonraker.state import (
    merge,
    observe,
    sensor_names,
    subscription,
    temperatures_from,
)
from agent.drivers.moonraker.tracker import JobTracker, MoonrakerJob
from agent.drivers.reporting import SnapshotReporter, gcode_lines, require_idle
from agent.drivers.tasks import until_first_failure
from agent.drivers.uploads import UPLOAD_PREFIX, Upload, content_named
from shared.enums import PrinterStatus
from shared.version import __version__

logger = logging.getLogger(__name__)

_JOB_STATUSES = (PrinterStatus.PRINTING, PrinterStatus.PAUSED)
REEVALUATE_S = 1.0
HISTORY_LOOKUP_EVERY_S = 2.0
HISTORY_LOOKUPS = 10


class MoonrakerDriver:
    def __init__(
        self,
        config: MoonrakerConfig,
        listener: EventListener,
        memory: JobMemory[MoonrakerJob] | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._transport = transport
        self._out = SnapshotReporter(
            listener,
            PrinterSnapshot(status=PrinterStatus.OFFLINE, message="not connected to Moonraker yet"),
        )
        self._client: MoonrakerClient | None = None
        self._moonraker_version: str | None = None
        self._firmware: str | None = None
        self._temps = Temperatures()
        # Klippy's state as Moonraker last told it, and Klipper's objects, merged from the
        # subscription's answer and every update after it.
        self._klippy = "disconnected"
        self._status: dict[str, dict[str, Any]] = {}
        self._objects: dict[str, list[str] | None] = {}
        self._changed = asyncio.Event()
        self._resubscribe = asyncio.Event()
        # Set while updates arrive through the websocket (not only by polling).
        self._socket_ready = asyncio.Event()
        self._gcode_replies: list[list[str]] = []
        self._background: set[asyncio.Task[None]] = set()
        # Looks for our print's history entry: job id -> (tries, when last).
        self._history_lookups: dict[str, tuple[int, float]] = {}
        self._jobs = JobTracker(
            memory if memory is not None else InMemoryJobMemory[MoonrakerJob](),
            self._out.emit,
            self._publish,
            self._history_entry,
            end_grace_s=config.end_grace_s,
        )
        self._jobs.on_job_end = self._after_job

    @property
    def snapshot(self) -> PrinterSnapshot:
        return self._out.snapshot

    @property
    def socket_connected(self) -> bool:
        """True while updates arrive through the websocket (not only by polling)."""
        return self._socket_ready.is_set()

    # --- run -----------------------------------------------------------------------------

    async def run(self) -> None:
        cfg = self._config
        async with MoonrakerClient(
            cfg.url,
            cfg.api_key,
            timeout_s=cfg.request_timeout_s,
            upload_timeout_s=cfg.upload_timeout_s,
            gcode_timeout_s=cfg.gcode_timeout_s,
            transport=self._transport,
        ) as client:
            try:
                await self._session(client)
            except (MoonrakerAuthError, SocketAuthError):
                self._publish(PrinterStatus.OFFLINE, API_KEY_REFUSED, None)
                raise ConnectionLostError(API_KEY_REFUSED) from None
            except (MoonrakerUnavailable, KlippyNotReady) as exc:
                self._publish(
                    PrinterStatus.OFFLINE, f"Moonraker unreachable at {redact_url(cfg.url)}", None
                )
                raise ConnectionLostError(str(exc)) from exc
            finally:
                self._client = None
                self._socket_ready.clear()
                for task in self._background:
                    task.cancel()

    async def _session(self, client: MoonrakerClient) -> None:
        await self._jobs.load()
        await self._poll_once(client)
        self._client = client
        await self._observe(client)
        await until_first_failure(
            self._socket_loop(client), self._poll_loop(client), self._observe_loop(client)
        )

    async def _poll_loop(self, client: MoonrakerClient) -> None:
        cfg = self._config
        while True:
            # Pacing, not synchronisation: REST is the safety net while the socket is up
            # and the only source while it is down.
            await asyncio.sleep(
                cfg.socket_poll_interval_s if self._socket_ready.is_set() else cfg.poll_interval_s
            )
            await self._poll_once(client)

    async def _poll_once(self, client: MoonrakerClient) -> None:
        """Klippy's state from /server/info; Klipper's objects too while the socket is down.

        With the socket up the objects come from it alone: a poll's answer could be older
        than an update merged while the poll was in flight.
        """
        info = await client.server_info()
        version = info.get("moonraker_version")
        self._moonraker_version = version if isinstance(version, str) else None
        klippy = info.get("klippy_state")
        klippy = klippy if isinstance(klippy, str) else "disconnected"
        became_ready = klippy == "ready" and self._klippy != "ready"
        if klippy != self._klippy and (klippy != "ready" or not self._socket_ready.is_set()):
            # The socket's notifications normally say this first; a missed one is caught here.
            self._klippy = klippy
            self._changed.set()
        if became_ready and self._socket_ready.is_set():
            self._resubscribe.set()
        if not self._socket_ready.is_set():
            with contextlib.suppress(KlippyNotReady, MoonrakerRequestError):
                await self._load_objects(client, refresh_names=became_ready or not self._objects)
                self._status = {
                    name: dict(fields)
                    for name, fields in (await client.query(self._objects)).items()
                }
                self._note_klippy_from_status()
                self._changed.set()

    async def _load_objects(self, client: MoonrakerClient, *, refresh_names: bool) -> None:
        """Which objects to follow: the base ones and every heater and sensor Klipper has."""
        if not refresh_names and self._objects:
            return
        names = await client.object_names()
        heaters = (
            await client.query({"heaters": ["available_sensors"]}) if "heaters" in names else {}
        )
        self._objects = subscription(names, sensor_names(heaters))
        info = await client.printer_info()
        version = info.get("software_version")
        klipper = f"Klipper {version}" if isinstance(version, str) else "Klipper"
        moonraker = f" via Moonraker {self._moonraker_version}" if self._moonraker_version else ""
        self._firmware = klipper + moonraker

    def _note_klippy_from_status(self) -> None:
        state = self._status.get("webhooks", {}).get("state")
        if isinstance(state, str) and state:
            self._klippy = state

    # --- the websocket -------------------------------------------------------------------

    async def _socket_loop(self, client: MoonrakerClient) -> None:
        failures = 0
        while True:
            try:
                async with open_socket(
                    self._config.websocket_url, self._config.api_key, self._on_notify
                ) as ws:
                    await ws.call("server.connection.identify", _IDENTITY)
                    await self._serve_socket(client, ws)
            except SocketAuthError:
                raise MoonrakerAuthError(API_KEY_REFUSED) from None
            except (SocketUnavailable, RpcError) as exc:
                failures += 1
                # Say it once; a socket that stays blocked (a proxy) is retried quietly.
                level = logging.INFO if failures == 1 else logging.DEBUG
                logger.log(
                    level, "Moonraker websocket at %s: %s", redact_url(self._config.url), exc
                )
            finally:
                self._socket_ready.clear()
            # Is Moonraker itself gone? A failed poll ends run() with ConnectionLostError.
            await self._poll_once(client)
            await asyncio.sleep(self._config.socket_retry_s)

    async def _serve_socket(self, client: MoonrakerClient, ws: MoonrakerSocket) -> None:
        """Subscribe, and again after each Klippy restart, until the socket closes."""
        while not ws.closed.is_set():
            self._resubscribe.clear()
            await self._subscribe(client, ws)
            self._socket_ready.set()
            closed = asyncio.ensure_future(ws.closed.wait())
            again = asyncio.ensure_future(self._resubscribe.wait())
            try:
                await asyncio.wait({closed, again}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                closed.cancel()
                again.cancel()

    async def _subscribe(self, client: MoonrakerClient, ws: MoonrakerSocket) -> None:
        try:
            await self._load_objects(client, refresh_names=True)
            result = await ws.call("printer.objects.subscribe", {"objects": self._objects})
        except (KlippyNotReady, MoonrakerRequestError, RpcError) as exc:
            # Klippy is starting, shut down or gone: notify_klippy_ready brings us back.
            logger.debug("no subscription while Klippy is %s: %s", self._klippy, exc)
            return
        status = result.get("status") if isinstance(result, dict) else None
        if isinstance(status, dict):
            self._status = {k: dict(v) for k, v in status.items() if isinstance(v, dict)}
            self._note_klippy_from_status()
            self._changed.set()

    def _on_notify(self, method: str, params: list[Any]) -> None:
        """Moonraker's pushes (components/klippy_connection.py and websockets.py)."""
        match method:
            case "notify_status_update" if params and isinstance(params[0], dict):
                merge(self._status, params[0])
                webhooks = params[0].get("webhooks")
                if isinstance(webhooks, dict) and isinstance(webhooks.get("state"), str):
                    self._klippy = webhooks["state"]
            case "notify_klippy_ready":
                self._klippy = "ready"
                self._resubscribe.set()
            case "notify_klippy_shutdown":
                self._klippy = "shutdown"
                # The subscription answer carries webhooks.state_message: Klipper's reason.
                self._resubscribe.set()
            case "notify_klippy_disconnected":
                self._klippy = "disconnected"
            case "notify_gcode_response" if params and isinstance(params[0], str):
                for replies in self._gcode_replies:
                    replies.append(params[0])
                return
            case _:
                return
        self._changed.set()

    # --- from updates to what we report --------------------------------------------------

    async def _observe_loop(self, client: MoonrakerClient) -> None:
        while True:
            # Also without news: a job's start grace or a wait for Moonraker's history
            # ends with time, not with an update.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(REEVALUATE_S):
                    await self._changed.wait()
            self._changed.clear()
            await self._observe(client)

    async def _observe(self, client: MoonrakerClient) -> None:
        self._temps = temperatures_from(self._status)
        await self._jobs.observe(observe(self._klippy, self._status))
        rec = self._jobs.job
        if rec is not None and rec.history_id is None and self._klippy == "ready":
            await self._note_history_id(client, rec)

    async def _note_history_id(self, client: MoonrakerClient, rec: MoonrakerJob) -> None:
        """Remember Moonraker's history entry of our print: its outcome if we miss the end.

        Asked at most every `HISTORY_LOOKUP_EVERY_S` (updates come at 4 Hz) and at most
        `HISTORY_LOOKUPS` times per job: a Moonraker without the history component answers
        404 for good.
        """
        now = time.monotonic()
        tries, last = self._history_lookups.get(rec.job_id, (0, -math.inf))
        if tries >= HISTORY_LOOKUPS or now - last < HISTORY_LOOKUP_EVERY_S:
            return
        self._history_lookups = {rec.job_id: (tries + 1, now)}
        with contextlib.suppress(MoonrakerRequestError):  # 404: no history component
            for entry in await client.history(limit=5):
                if entry.get("filename") == rec.filename and entry.get("status") == "in_progress":
                    history_id = entry.get("job_id")
                    if isinstance(history_id, str):
                        async with self._jobs.lock:
                            await self._jobs.update(replace(rec, history_id=history_id))
                    return

    async def _history_entry(self, history_id: str) -> dict[str, Any] | None:
        client = self._client
        if client is None:
            return None
        try:
            for entry in await client.history(limit=50):
                if entry.get("job_id") == history_id:
                    return entry
        except MoonrakerRequestError:
            return None
        return None

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

    def _after_job(self, rec: MoonrakerJob) -> None:
        if self._client is not None:
            task = asyncio.get_running_loop().create_task(self._prune_uploads(self._client))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _prune_uploads(self, client: MoonrakerClient) -> None:
        """Keep the newest `keep_uploads` of our uploads; a reprint of those needs none."""
        try:
            files = await client.list_files()
            ours = sorted(
                (f for f in files if str(f.get("path", "")).startswith(UPLOAD_PREFIX)),
                key=lambda f: float(f.get("modified") or 0.0),
                reverse=True,
            )
            printing = self._status.get("print_stats", {}).get("filename")
            for item in ours[self._config.keep_uploads :]:
                if item["path"] != printing:
                    await client.delete_file(str(item["path"]))
        except MoonrakerError as exc:
            logger.info("could not prune old uploads on Moonraker: %s", exc)

    # --- commands ------------------------------------------------------------------------

    async def start_job(self, job_id: str, gcode_path: Path) -> None:
        try:
            upload = await asyncio.to_thread(content_named, gcode_path)
        except OSError as exc:
            raise InvalidFileError(f"cannot read G-code file {gcode_path}: {exc}") from exc
        client = self._require_idle()
        # Upload outside the lock: it can take a while, and state must keep flowing.
        estimated_s = await self._ensure_uploaded(client, gcode_path, upload)
        async with _mapped_errors(), self._jobs.lock:
            self._require_idle()
            await self._jobs.begin(
                MoonrakerJob(job_id, upload.name, time.time(), estimated_s=estimated_s)
            )
            try:
                await client.start_print(upload.name)
            except BaseException:
                await self._jobs.abandon()
                raise
            self._out.emit(JobStarted(job_id))
            self._publish(PrinterStatus.PRINTING, None, JobProgress(job_id, 0.0, 0.0, None))

    async def _ensure_uploaded(
        self, client: MoonrakerClient, path: Path, upload: Upload
    ) -> float | None:
        """Upload unless Moonraker has this file (our names carry the content's hash)."""
        name, size = upload.name, upload.size
        try:
            meta = await client.file_metadata(name)
            if meta is None or meta.get("size") != size:
                limit = await client.max_upload_bytes()
                if limit is not None and size > limit:
                    raise InvalidFileError(
                        f"Moonraker cannot take this file: it is {size / 2**20:.1f} MiB and "
                        f"Moonraker accepts uploads up to {limit // 2**20} MiB "
                        "(max_upload_size in moonraker.conf)"
                    )
                free = await client.free_bytes()
                if free is not None and size > free:
                    raise DriverError(
                        f"the printer's host has no room for this file: {size / 2**20:.1f} MiB, "
                        f"with {free / 2**20:.1f} MiB free for Moonraker's gcodes"
                    )
                logger.info("uploading %s (%d bytes) to Moonraker", name, size)
                await client.upload(path, name, upload.sha256)
                meta = await client.file_metadata(name)
            else:
                logger.info("Moonraker already has %s; not uploading it again", name)
        except MoonrakerRequestError as exc:
            raise InvalidFileError(f"Moonraker refused the upload: {exc}") from exc
        except MoonrakerAuthError as exc:
            raise PrinterOfflineError(str(exc)) from exc
        except MoonrakerServerError as exc:
            # Moonraker got the file and could not keep it: its disk, its permissions.
            raise DriverError(f"Moonraker could not store the file: {exc.reason}") from exc
        except (MoonrakerUnavailable, KlippyNotReady) as exc:
            raise PrinterOfflineError(f"the upload to Moonraker failed: {exc}") from exc
        estimate = (meta or {}).get("estimated_time")
        return float(estimate) if isinstance(estimate, int | float) and estimate > 0 else None

    async def pause(self) -> None:
        await self._job_command("pause")

    async def resume(self) -> None:
        await self._job_command("resume")

    async def cancel(self) -> None:
        async with self._jobs.lock:
            await self._jobs.note_cancel_requested()
        await self._job_command("cancel")

    async def home(self) -> None:
        client = self._require_client()
        if self.snapshot.status is not PrinterStatus.IDLE:
            raise PrinterBusyError(f"cannot home while the printer is {self.snapshot.status}")
        async with _mapped_errors():
            await client.gcode_script("G28")

    async def cooldown(self) -> None:
        client = self._require_client()
        if self._klippy in ("shutdown", "error"):
            return  # Klipper turns every heater off when it shuts down
        async with _mapped_errors():
            await client.gcode_script("TURN_OFF_HEATERS")

    async def send_gcode(self, lines: list[str]) -> list[str]:
        lines = gcode_lines(lines)
        client = self._require_client()
        if self.snapshot.status in _JOB_STATUSES or self._jobs.job or self._jobs.foreign_file:
            raise PrinterBusyError("raw G-code is only sent outside a job")
        if self.snapshot.status is PrinterStatus.OFFLINE:
            raise PrinterOfflineError(self.snapshot.message or "printer offline")
        # Allowed while Klipper is shut down: FIRMWARE_RESTART is how it comes back.
        # Klipper's replies come only through the websocket: give one that is (re)opening
        # a moment. Without it the script still runs, with "ok" as the only reply.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._config.gcode_reply_wait_s):
                await self._socket_ready.wait()
        replies: list[str] = []
        self._gcode_replies.append(replies)
        try:
            async with _mapped_errors():
                await client.gcode_script("\n".join(lines))
        finally:
            self._gcode_replies.remove(replies)
        # Klipper's responses arrive on the socket before the script's answer.
        return [*replies, "ok"]

    async def _job_command(self, command: str) -> None:
        client = self._require_client()
        if self._jobs.job is None:
            if self._jobs.foreign_file is not None:
                raise PrinterBusyError("the running print was not started by AutoPrintFarm")
            raise PrinterBusyError("no job is printing")
        try:
            await client.print_command(command)
        except MoonrakerRequestError as exc:
            raise PrinterBusyError(f"Moonraker refused to {command}: {exc}") from exc
        except (MoonrakerAuthError, MoonrakerUnavailable, KlippyNotReady) as exc:
            raise PrinterOfflineError(str(exc)) from exc

    def _require_client(self) -> MoonrakerClient:
        if self._client is None:
            raise PrinterOfflineError(self.snapshot.message or "not connected to Moonraker")
        return self._client

    def _require_idle(self) -> MoonrakerClient:
        client = self._require_client()
        require_idle(self.snapshot, job_running=self._jobs.job is not None)
        return client


_IDENTITY = {
    "client_name": "AutoPrintFarm",
    "version": __version__,
    "type": "other",
    "url": "https://github.com/autoprintfarm/autoprintfarm",
}


@contextlib.asynccontextmanager
async def _mapped_errors() -> AsyncIterator[None]:
    """Moonraker's refusals as the `DriverError` a command reply carries."""
    try:
        yield
    except MoonrakerRequestError as exc:
        # Klipper's own message: "Unknown command", "Must home axis first", …
        raise InvalidCommandError(f"Klipper refused: {exc}") from exc
    except KlippyNotReady as exc:
        raise PrinterBusyError(f"Klipper is not ready: {exc}") from exc
    except (MoonrakerAuthError, MoonrakerUnavailable) as exc:
        raise PrinterOfflineError(str(exc)) from exc
