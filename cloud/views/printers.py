"""A printer as the API returns it; its `current_job` is derived (cloud/lifecycle/occupancy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from cloud.db.models import Printer
from cloud.db.rows import json_list, utc
from cloud.schemas.printers import PrinterOut, ReportedMaterial, Temperatures
from cloud.services.connections import display_url
from cloud.views.numbers import tenth

# What a response needs, in the order `printer_from_values` unpacks; `current_job_id` is no
# column of the table: list queries select it as `cloud.lifecycle.occupancy.CURRENT_JOB`.
PRINTER_COLUMNS = (
    "id",
    "name",
    "status",
    "model",
    "firmware",
    "hotend_c",
    "bed_c",
    "current_job_id",
    "progress",
    "group",
    "tags",
    "agent_id",
    "connection_kind",
    "connection_url",
    "connection_secret_sealed",
    "reported_materials",
    "created_at",
    "updated_at",
)


def printer_out(printer: Printer, current_job_id: str | None) -> PrinterOut:
    values = tuple(
        current_job_id if name == "current_job_id" else getattr(printer, name)
        for name in PRINTER_COLUMNS
    )
    return printer_from_values(values)


def printer_from_values(values: Sequence[Any]) -> PrinterOut:
    """From `PRINTER_COLUMNS` values, raw (a list row) or processed (an ORM object).

    Plain values (no enum lookups, no URL parsing unless the URL carries credentials): this
    runs 100 times per list page. msgspec encodes a str where PrinterStatus is typed.
    """
    (id_, name, status, model, firmware, hotend, bed, job, progress, group, tags, agent_id,
     kind, url, sealed_secret, materials, created_at, updated_at) = values  # fmt: skip
    return PrinterOut(
        id=id_,
        name=name,
        status=status,
        model=model,
        firmware=firmware,
        temperatures=Temperatures(hotend=tenth(hotend), bed=tenth(bed)),
        current_job=job,
        progress=tenth(progress),
        group=group,
        tags=json_list(tags),
        agent_id=agent_id,
        connection_type=kind,
        connection_url=display_url(url) if "@" in url else url,
        has_api_key=sealed_secret is not None,
        reported_materials=_reported(materials),
        created_at=utc(created_at),
        updated_at=utc(updated_at),
    )


_decode_materials = msgspec.json.Decoder(list[ReportedMaterial]).decode


def _reported(value: str | list[Any] | None) -> list[ReportedMaterial]:
    """The JSON column as stored (text from a list query, a list on an ORM object)."""
    if not value:
        return []
    if type(value) is str:
        materials = _decode_materials(value)
    else:
        materials = msgspec.convert(value, list[ReportedMaterial])
    for material in materials:
        material.remaining_pct = tenth(material.remaining_pct)
    return materials
