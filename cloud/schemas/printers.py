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
# prusalink:// URL, or a USB serial device with optional baud and profile.
ConnectionUrl = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=2048,
        extra_json_schema={
            "pattern": r"^((https?|moonrakers?|prusalink)://[A-Za-z0-9.-]+(:[1-9][0-9]{0,4})?"
            r"(/[A-Za-z0-9._~/-]*)?"
            r"|serial:///dev/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)$"
        },
    ),
]


class Temperatures(msgspec.Struct, kw_only=True):
    hotend: float | None
    bed: float | None


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
