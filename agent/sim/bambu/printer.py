"""A Bambu Lab printer on loopback: TLS MQTT, implicit FTPS and the print model together.

`BambuSimulator` answers what LAN clients send (../shared/peers/bambu/README.md facts 3–8):
`pushall` with a full `push_status`, `get_version` with the module list, and — with
Developer Mode on — `project_file`, `gcode_file`, `pause`, `resume`, `stop`,
`gcode_line` and `clean_print_error`, each acknowledged with the request's `sequence_id`
and `result`. With Developer Mode off such commands are dropped without an answer, as a
printer on firmware from January 2025 on drops unsigned control (fact 12).

Between commands it reports on its own every `report_interval_s`: the whole `print`
object when `full_reports` (X1), otherwise only what changed (`msg: 1`, P1/A1; AMS data
only in full reports, fact 4).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import ssl
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from agent.sim.bambu.certs import make_printer_certificate, server_context
from agent.sim.bambu.ftps import FtpsServer
from agent.sim.bambu.logins import LoginGuard
from agent.sim.bambu.model import Faults, PrinterModel, PrintFile
from agent.sim.bambu.mqtt_server import PrinterMqttServer
from shared.gcode.analyze import analyze_file, analyze_stream
from shared.gcode.errors import GcodeInvalidError

log = logging.getLogger(__name__)

# The simulator's own print_error for a file it cannot print (missing or unreadable). A real
# printer acknowledges such a start and stays IDLE with an error (fact 8).
FILE_ERROR = 0x0500C010
# Where a client may say a file is: ftp:///cache/a.3mf, file:///sdcard/cache/a.3mf, …
_CARD_PREFIXES = ("/sdcard", "/mnt/sdcard", "/media/usb0")
_CONTROL = frozenset({"print", "system"})


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    serial: str = "01P00A000000001"
    access_code: str = "12345678"
    host: str = "127.0.0.1"
    mqtt_port: int = 8883
    ftps_port: int = 990
    model_name: str = "P1S"  # shown by get_version
    firmware: str = "01.08.02.00"
    full_reports: bool = False  # X1 style; P1/A1 send deltas
    developer_mode: bool = True
    report_interval_s: float = 1.0
    # Printing time is the file's estimate divided by speed, at least min_print_s.
    speed: float = 60.0
    min_print_s: float = 3.0
    prepare_s: float = 2.0
    heat_rate_c_per_s: float = 20.0
    boot_s: float = 2.0
    card_bytes: int | None = None
    lockout_s: float = 60.0
    # A real printer acknowledges a start and shows the last print's result a moment longer
    # before it takes the file; with `ignore_starts` it acknowledges and never prints (a
    # real A1 was seen to do so, README fact 8).
    start_lag_s: float = 0.0
    ignore_starts: bool = False
    # Acknowledgements lost on the way (the command itself is carried out).
    drop_acks: bool = False
    faults: Faults = field(default_factory=Faults)


class BambuSimulator:
    def __init__(self, settings: SimulatorSettings, card_dir: Path, cert_dir: Path) -> None:
        self.settings = settings
        self.card_dir = card_dir
        cert, key = make_printer_certificate(settings.serial, cert_dir)
        self._ssl = server_context(cert, key)
        # The leaf comes first in the chain file; clients pin its SHA-256.
        leaf = (
            cert.read_text().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
        )
        self.fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(leaf)).hexdigest()
        self.logins = LoginGuard(lockout_s=settings.lockout_s)
        self.model = PrinterModel(
            serial=settings.serial,
            prepare_s=settings.prepare_s,
            heat_rate_c_per_s=settings.heat_rate_c_per_s,
            faults=settings.faults,
        )
        self._loop_time = asyncio.get_running_loop().time
        self.mqtt = PrinterMqttServer(
            settings.serial,
            settings.access_code,
            self._on_request,
            ssl_context=self._ssl,
            host=settings.host,
            port=settings.mqtt_port,
            logins=self.logins,
        )
        self.ftps = FtpsServer(
            host=settings.host,
            port=settings.ftps_port,
            ssl_context=self._ssl,
            username="bblp",
            password=settings.access_code,
            root=card_dir,
            capacity_bytes=settings.card_bytes,
            logins=self.logins,
        )
        self._reporter: asyncio.Task[None] | None = None
        self._last_sent: dict[str, Any] = {}
        # Every request the printer took, in order (for tests: what did a client send?).
        self.requests: list[dict[str, Any]] = []

    def describe(self) -> dict[str, Any]:
        """Where and how to reach this printer (what `apf sim --bambu` prints)."""
        return {
            "host": self.settings.host,
            "mqtt_port": self.mqtt.port,
            "ftps_port": self.ftps.port,
            "serial": self.settings.serial,
            "access_code": self.settings.access_code,
            "fingerprint": self.fingerprint,
        }

    async def start(self) -> None:
        await self.mqtt.start()
        await self.ftps.start()
        self._reporter = asyncio.create_task(self._report_loop())

    async def stop(self) -> None:
        if self._reporter is not None:
            self._reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reporter
            self._reporter = None
        await self.mqtt.stop()
        await self.ftps.stop()

    async def reboot(self) -> None:
        """Drop every connection, go silent for boot_s, come back IDLE (the print lost)."""
        await self.stop()
        self.model.reboot(self._loop_time())
        self._last_sent = {}
        await asyncio.sleep(self.settings.boot_s)
        self.mqtt = PrinterMqttServer(
            self.settings.serial,
            self.settings.access_code,
            self._on_request,
            ssl_context=self._ssl,
            host=self.settings.host,
            port=self.mqtt.port,
            logins=self.logins,
        )
        await self.mqtt.start()
        await self.ftps.start()
        self._reporter = asyncio.create_task(self._report_loop())

    # --- reports -----------------------------------------------------------------------

    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.report_interval_s)
            self.push(full=self.settings.full_reports)

    def push(self, *, full: bool) -> None:
        self.model.advance(self._loop_time())
        fields = self.model.print_fields()
        if full:
            self._last_sent = dict(fields)
            self.mqtt.publish_report({"print": fields})
            return
        # A delta: what changed since the last report, never AMS (fact 4).
        changed = {
            k: v
            for k, v in fields.items()
            if k not in ("ams", "sequence_id", "command", "msg") and self._last_sent.get(k) != v
        }
        self._last_sent.update(changed)
        if changed:
            changed.update(command="push_status", msg=1, sequence_id=fields["sequence_id"])
            self.mqtt.publish_report({"print": changed})

    # --- requests ----------------------------------------------------------------------

    def _on_request(self, message: dict[str, Any]) -> None:
        self.requests.append(message)
        for category, body in message.items():
            if isinstance(body, dict):
                self._one(category, body)

    def _one(self, category: str, body: dict[str, Any]) -> None:
        command = body.get("command")
        sequence_id = body.get("sequence_id")
        if category in _CONTROL and not self.settings.developer_mode:
            log.info("simulated printer: Developer Mode is off; %s dropped", command)
            return
        now = self._loop_time()
        match category, command:
            case "pushing", "pushall":
                self.push(full=True)
            case "info", "get_version":
                self.mqtt.publish_report({"info": self._version(sequence_id)})
            case "upgrade", "get_history":
                self.mqtt.publish_report(
                    {
                        "upgrade": {
                            "command": "get_history",
                            "sequence_id": _seq(sequence_id),
                            "firmware_optional": [],
                            "result": "success",
                            "reason": "",
                        }
                    }
                )
            case "print", "project_file" | "gcode_file":
                self._start(body, command, now)
            case "print", "pause":
                self._ack(body, self.model.pause(now), "not printing")
            case "print", "resume":
                self._ack(body, self.model.resume(now), "not paused")
            case "print", "stop":
                self._ack(body, self.model.stop(now), "not printing")
            case "print", "gcode_line":
                for line in str(body.get("param", "")).splitlines():
                    self.model.gcode(line, now)
                self._ack(body, True, "")
            case "print", "clean_print_error":
                self.model.print_error = 0
                self._ack(body, True, "")
            case _:
                log.info("simulated printer: %s/%s not simulated; ignored", category, command)

    def _ack(self, body: dict[str, Any], ok: bool, reason: str, **extra: Any) -> None:
        reply = {
            "command": body.get("command"),
            "sequence_id": _seq(body.get("sequence_id")),
            "param": body.get("param", ""),
            "result": "success" if ok else "fail",
            "reason": "" if ok else reason,
            **extra,
        }
        if not self.settings.drop_acks:
            self.mqtt.publish_report({"print": reply})
        self.push(full=self.settings.full_reports)

    def _start(self, body: dict[str, Any], command: str, now: float) -> None:
        if self.model.gcode_state in ("PREPARE", "RUNNING", "PAUSE"):
            self._ack(body, False, "the printer is busy")
            return
        try:
            job = self._load(body, command)
        except (OSError, GcodeInvalidError, zipfile.BadZipFile, KeyError, ValueError) as exc:
            log.info("simulated printer: cannot print %r: %s", body.get("url") or body, exc)
            # Accepted, then not printed (fact 8): the client sees IDLE and an error.
            self.model.refuse_start(FILE_ERROR, now)
            self._ack(body, True, "")
            return
        self._ack(body, True, "", subtask_name=job.subtask_name)
        if self.settings.ignore_starts:
            return
        if self.settings.start_lag_s <= 0:
            self._begin(job)
        else:
            asyncio.get_running_loop().call_later(self.settings.start_lag_s, self._begin, job)

    def _begin(self, job: PrintFile) -> None:
        self.model.start(job, self._loop_time())
        self.push(full=self.settings.full_reports)

    def _load(self, body: dict[str, Any], command: str) -> PrintFile:
        # What the printer then reports: for a plain file the path it was given; for a
        # project the plate's G-code inside it, as /data/Metadata/plate_1.gcode, with the
        # project's name as subtask_name (ha-bambulab MOCK-P2S.json, MOCK-H2D.json).
        if command == "gcode_file":
            where = str(body.get("param", ""))
            path = self._resolve(where)
            result = analyze_file(path)
            shown, subtask = where, _stem(path.name)
        else:
            path = self._resolve(str(body.get("url") or body.get("file") or ""))
            entry = str(body.get("param") or "Metadata/plate_1.gcode")
            with zipfile.ZipFile(path) as archive, archive.open(entry) as member:
                result = analyze_stream(iter(lambda: member.read(1 << 20), b""))
            shown = "/data/" + entry.lstrip("/")
            subtask = str(body.get("subtask_name") or "") or _stem(path.name)
        duration = max(self.settings.min_print_s, result.estimated_time_s / self.settings.speed)
        return PrintFile(
            name=shown,
            subtask_name=subtask,
            duration_s=duration,
            total_layers=max(1, result.layer_count or 1),
            nozzle_c=result.first_layer_hotend_c or 220.0,
            bed_c=result.first_layer_bed_c or 60.0,
        )

    def _resolve(self, where: str) -> Path:
        """A card path from a url (ftp:///x, ftp://x, file:///sdcard/x) or a bare path."""
        text = where.strip()
        for scheme in ("ftp://", "file://"):
            if text.startswith(scheme):
                text = text[len(scheme) :]
        for prefix in _CARD_PREFIXES:
            if text.startswith(prefix + "/"):
                text = text[len(prefix) :]
        relative = PurePosixPath("/" + text.lstrip("/"))
        if ".." in relative.parts:
            raise ValueError(f"path escapes the card: {where!r}")
        candidate = self.card_dir.joinpath(*relative.parts[1:])
        if candidate.is_file():
            return candidate
        raise FileNotFoundError(f"no such file on the card: {where!r}")

    def _version(self, sequence_id: Any) -> dict[str, Any]:
        # Shaped as a real A1 mini's answer (bambu-rs get_version-a1mini.json): no
        # `result`, one entry per module, the printer's name on the `ota` one.
        s = self.settings

        def module(name: str, hw: str, sw: str, product: str = "") -> dict[str, Any]:
            return {
                "flag": 3 if name == "ota" else 0,
                "hw_ver": hw,
                "loader_ver": "00.00.00.00",
                "name": name,
                "product_name": product,
                "sn": s.serial,
                "sw_ver": sw,
                "visible": name == "ota",
            }

        return {
            "command": "get_version",
            "module": [
                module("ota", "OTA", s.firmware, f"Bambu Lab {s.model_name}"),
                module("mc", "MC07", "00.00.27.36"),
                module("th", "TH09", "00.00.04.92"),
                module("ams/0", "AMS08", "00.00.06.49", "AMS"),
            ],
            "sequence_id": _seq(sequence_id),
        }


def _seq(value: Any) -> str:
    return str(value) if value is not None else "0"


def _stem(name: str) -> str:
    for suffix in (".gcode.3mf", ".3mf", ".gcode"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@contextlib.asynccontextmanager
async def running_simulator(settings: SimulatorSettings, card_dir: Path | None = None) -> Any:
    """A started simulator with a throwaway certificate, and a throwaway card unless
    `card_dir` is given; stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="apf-bambu-sim-") as tmp:
        card, certs = card_dir or Path(tmp) / "card", Path(tmp) / "certs"
        card.mkdir(parents=True, exist_ok=True)
        certs.mkdir()
        sim = BambuSimulator(settings, card, certs)
        await sim.start()
        try:
            yield sim
        finally:
            await sim.stop()
