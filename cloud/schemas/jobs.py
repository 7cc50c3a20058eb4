"""Job bodies (api-reference.md `GET /v1/jobs/:id`, `POST /v1/jobs`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from cloud.schemas.common import Pagination, ResourceId, Tags, Url
from shared.enums import JobStatus, Priority

JobName = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
MaterialType = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
MaterialColor = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Copies = Annotated[int, msgspec.Meta(ge=1, le=1000)]


class JobMaterial(msgspec.Struct, kw_only=True):
    type: str | None
    color: str | None
    # grams of filament the file needs (the slicer's figure, or ours from the moves)
    estimated_usage: float | None


class JobOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    status: JobStatus
    priority: Priority
    printer_id: str | None
    progress: float | None
    file_url: str
    estimated_duration: int | None
    elapsed_time: int | None
    material: JobMaterial
    copies: int
    copies_completed: int
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    # Why the job failed, in words a person can act on; null unless status is failed.
    failure_reason: str | None = None


JOB_FIELDS: tuple[str, ...] = tuple(f.name for f in msgspec.structs.fields(JobOut))


class JobPage(msgspec.Struct, kw_only=True):
    data: list[JobOut]
    pagination: Pagination


class MaterialIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The material a job needs: the queue puts it on a printer with this type loaded (and
    this colour, when given)."""

    type: MaterialType
    color: MaterialColor | None = None


class JobAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


class JobActionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    action: JobAction


class JobFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What a new job says besides its file (the multipart form's text fields)."""

    name: JobName | None = None
    priority: Priority = Priority.NORMAL
    # Optional: without it the queue assigns a matching idle printer.
    printer_id: ResourceId | None = None
    # "PLA", or {"type": "PLA", "color": "Black"}; a multipart form says the colour in
    # `material_color`.
    material: MaterialType | MaterialIn | None = None
    material_color: MaterialColor | None = None
    copies: Copies = 1
    tags: Tags = msgspec.field(default_factory=list)

    def material_wanted(self) -> tuple[str | None, str | None]:
        """(type, colour) from either way of saying them."""
        if isinstance(self.material, MaterialIn):
            return self.material.type, self.material.color or self.material_color
        return self.material, self.material_color


class JobCreate(JobFields, kw_only=True, forbid_unknown_fields=True):
    """JSON form: the file is fetched from `file_url` (or reused, if it is a `file_url` this
    service returned for an earlier job of the organization)."""

    file_url: Url


class JobFileSlicer(msgspec.Struct, kw_only=True):
    name: str
    version: str | None


class JobFileAnalysis(msgspec.Struct, kw_only=True):
    """`POST /v1/jobs/analyze`: what a job made from the file would carry
    (`estimated_duration`, `material`), more of the analysis, and what to check before
    queueing it (`warnings`, sentences)."""

    filename: str
    size_bytes: int
    estimated_duration: int  # seconds
    # "slicer": the slicer's own figure from the file; "computed": ours from the moves
    estimated_duration_source: str
    # type as the slicer wrote it; color null (the analysis reads no colour); usage in g
    material: JobMaterial
    filament_used_mm: float
    layer_count: int | None
    layer_height_mm: float | None
    nozzle_diameter_mm: float | None
    first_layer_hotend_c: float | None
    first_layer_bed_c: float | None
    slicer: JobFileSlicer | None
    warnings: list[str]


class JobPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: JobName | msgspec.UnsetType = msgspec.UNSET
    priority: Priority | msgspec.UnsetType = msgspec.UNSET
    tags: Tags | msgspec.UnsetType = msgspec.UNSET
