"""Printer bodies (api-reference.md `GET /v1/printers`, `POST /v1/printers`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from cloud.schemas.common import Name, Pagination, ResourceId, ShortText, Tags
from shared.enums import PrinterAction, PrinterStatus

ApiKeyText = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


# The forms cloud/services/connections.py accepts, documented (it checks them, with messages
# of its own): OctoPrint's http(s) URL, Moonraker's moonraker(s):// URL, PrusaLink's
# prusalink:// URL, a Bambu Lab printer's bambu:// URL with its serial number (and optional
# FTPS port and certificate fingerprint), or a USB serial device with optional baud and profile.
ConnectionUrl = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=2048,
        extra_json_schema={
            "pattern": r"^((https?|moonrakers?|prusalink)://[A-Za-z0-9.-]+(:[1-9][0-9]{0,4})?"
            r"(/[A-Za-z0-9._~/-]*)?"
            r"|bambu://[A-Za-z0-9.-]+(:[1-9][0-9]{0,4})?\?serial=[A-Za-z0-9]{4,32}"
            r"(&ftps_port=[1-9][0-9]{0,4})?(&fingerprint=[0-9A-Fa-f]{64})?"
            r"|serial:///dev/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)$"
        },
    ),
]


class Temperatures(msgspec.Struct, kw_only=True):
    hotend: float | None
    bed: float | None


class ReportedMaterial(msgspec.Struct, kw_only=True):
    """Filament the printer itself reports loaded (a Bambu AMS tray, its external spool), as
    its agent said last; null where the printer cannot tell. `color` is `#RRGGBB`."""

    slot: str
    type: str | None = None
    color: str | None = None
    remaining_pct: float | None = None


class PrinterOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    status: PrinterStatus
    model: str | None
    firmware: str | None
    temperatures: Temperatures
    current_job: str | None
    progress: float | None
    group: str | None
    tags: list[str]
    # Beyond the spec's example: which agent drives it and how it is reached. The OctoPrint
    # API key is write-only; `has_api_key` says whether one is set.
    agent_id: str | None
    connection_type: str
    connection_url: str
    has_api_key: bool
    # What the printer reports loaded; the spools assigned to it are /v1/materials?printer_id=.
    reported_materials: list[ReportedMaterial]
    created_at: datetime
    updated_at: datetime


PRINTER_FIELDS: tuple[str, ...] = tuple(f.name for f in msgspec.structs.fields(PrinterOut))


class PrinterPage(msgspec.Struct, kw_only=True):
    data: list[PrinterOut]
    pagination: Pagination


class PrinterCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    connection_url: ConnectionUrl
    api_key: ApiKeyText | None = None
    agent_id: ResourceId | None = None
    model: ShortText | None = None
    group: ShortText | None = None
    tags: Tags = msgspec.field(default_factory=list)


class PrinterPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    connection_url: ConnectionUrl | msgspec.UnsetType = msgspec.UNSET
    api_key: ApiKeyText | msgspec.UnsetType | None = msgspec.UNSET
    agent_id: ResourceId | msgspec.UnsetType | None = msgspec.UNSET
    model: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    group: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    tags: Tags | msgspec.UnsetType = msgspec.UNSET


class PrinterActionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    action: PrinterAction


# One line of console G-code: printable ASCII (a serial line carries nothing else safely)
# but `*` (the firmware reads it as a checksum), at least one character that is not a
# space, at most 96 (Marlin's default MAX_CMD_SIZE). A `;` comment is allowed; the agent
# strips it before sending.
GcodeLine = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=96,
        pattern=r"^[ -)+-~]*[!-)+-~][ -)+-~]*$",
        description="Printable ASCII but `*`, not blank, at most 96 characters",
    ),
]


class GcodeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    lines: Annotated[list[GcodeLine], msgspec.Meta(min_length=1, max_length=50)]


class GcodeOut(msgspec.Struct, kw_only=True):
    """Console G-code as recorded. `status`: `ok` once the printer answered (`replies`: the
    lines it said meanwhile, e.g. `T:210.0 /210.0 B:60.0 /60.0`); `sent` or `pending`
    while on its way (`replies` empty)."""

    id: str
    printer_id: str
    lines: list[str]
    status: str
    replies: list[str]
    created_at: datetime
    expires_at: datetime


class PrinterActionOut(msgspec.Struct, kw_only=True):
    """The action as recorded. `id` is the command for the printer's agent, or null when
    none was needed (a job paused, resumed or cancelled between two copies: the cloud did it
    at once). `status`: `ok` once done; `pending` or `sent` while the command is on its way
    (a pause asked while a copy starts waits for it to start)."""

    id: str | None
    printer_id: str
    # The job the action was about (pause, resume, cancel), if any.
    job_id: str | None = None
    action: PrinterAction
    status: str
    created_at: datetime
    expires_at: datetime | None
