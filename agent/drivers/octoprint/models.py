"""The parts of OctoPrint's REST and push-socket payloads this driver reads, as msgspec Structs.

Field names follow OctoPrint's JSON (camelCase) through `rename`; unknown fields are ignored
so a newer OctoPrint that adds fields still decodes. Shapes from OctoPrint 1.11's
`docs/api/datamodel.rst`, `docs/api/job.rst`, `docs/api/push.rst` and checked against a
running 1.11.8.
"""

from __future__ import annotations

from typing import Any

import msgspec


class _Model(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    pass


class StateFlags(_Model, frozen=True):
    # OctoPrint's `closedOrError` and `sdReady` become closed_or_error / sd_ready.
    operational: bool = False
    printing: bool = False
    cancelling: bool = False
    pausing: bool = False
    resuming: bool = False
    finishing: bool = False
    closed_or_error: bool = False
    error: bool = False
    paused: bool = False
    ready: bool = False


class PrinterState(_Model, frozen=True):
    """`state` of a push `current` message and of `GET /api/printer`."""

    text: str = "Offline"
    flags: StateFlags | None = None
    error: str | None = None


class FileRef(_Model, frozen=True):
    name: str | None = None
    path: str | None = None
    size: int | None = None
    origin: str | None = None


class JobInfo(_Model, frozen=True):
    file: FileRef = msgspec.field(default_factory=FileRef)
    estimated_print_time: float | None = None


class ProgressInfo(_Model, frozen=True):
    # `completion` is a percentage 0..100 (docs/api/datamodel.rst, "Progress information").
    completion: float | None = None
    filepos: int | None = None
    print_time: float | None = None
    print_time_left: float | None = None


class CurrentData(_Model, frozen=True):
    """Push message `current` (docs/api/push.rst): sent about every 0.5 s while connected."""

    state: PrinterState = msgspec.field(default_factory=PrinterState)
    job: JobInfo = msgspec.field(default_factory=JobInfo)
    progress: ProgressInfo = msgspec.field(default_factory=ProgressInfo)
    # History of temperature points since the last message: {"time": t, "tool0": {...}, ...}
    temps: list[dict[str, Any]] = msgspec.field(default_factory=list)
    logs: list[str] = msgspec.field(default_factory=list)


class JobResponse(_Model, frozen=True):
    """`GET /api/job`: like `current`, but `state` is only the text."""

    state: str = "Offline"
    job: JobInfo = msgspec.field(default_factory=JobInfo)
    progress: ProgressInfo = msgspec.field(default_factory=ProgressInfo)
    error: str | None = None


class PrinterResponse(_Model, frozen=True):
    """`GET /api/printer` (answers 409 while OctoPrint is not connected to the printer)."""

    state: PrinterState = msgspec.field(default_factory=PrinterState)
    temperature: dict[str, Any] = msgspec.field(default_factory=dict)


class ConnectionCurrent(_Model, frozen=True):
    state: str = "Closed"
    port: str | None = None
    baudrate: int | None = None
    printer_profile: str | None = None


class ConnectionResponse(_Model, frozen=True):
    current: ConnectionCurrent = msgspec.field(default_factory=ConnectionCurrent)


class VersionResponse(_Model, frozen=True):
    server: str
    api: str = ""


class LoginResponse(_Model, frozen=True):
    """`POST /api/login` with `passive`: the user name and session key for the socket's auth."""

    name: str
    session: str


class UploadedFile(_Model, frozen=True):
    name: str
    path: str
    origin: str = "local"


class UploadedFiles(_Model, frozen=True):
    local: UploadedFile


class UploadResponse(_Model, frozen=True):
    files: UploadedFiles
    done: bool = True


class LastPrint(_Model, frozen=True):
    # Unix time the print ended and whether it succeeded; OctoPrint records a cancel as a
    # failure too (printer/standard.py `on_comm_print_job_cancelled` → log_print(False)).
    date: float
    success: bool
    print_time: float | None = None


class PrintStats(_Model, frozen=True):
    success: int = 0
    failure: int = 0
    last: LastPrint | None = None


class FileInfo(_Model, frozen=True):
    """`GET /api/files/local/<path>`: the file's metadata, with its print history."""

    name: str
    path: str
    prints: PrintStats | None = None


class PushEvent(_Model, frozen=True):
    """Push message `event`: {"type": "PrintDone", "payload": {...}}."""

    type: str
    payload: dict[str, Any] | None = None
