"""Job bodies (api-reference.md `GET /v1/jobs/:id`, `POST /v1/jobs`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from cloud.schemas.common import Pagination, ResourceId, Tags, Url
from shared.enums import JobStatus, Priority

JobName = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
MaterialType = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
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


class JobFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What a new job says besides its file (the multipart form's text fields)."""

    name: JobName | None = None
    priority: Priority = Priority.NORMAL
    # Optional: without it the queue assigns a matching idle printer.
    printer_id: ResourceId | None = None
    material: MaterialType | None = None
    copies: Copies = 1
    tags: Tags = msgspec.field(default_factory=list)


class JobCreate(JobFields, kw_only=True, forbid_unknown_fields=True):
    """JSON form: the file is fetched from `file_url` (or reused, if it is a `file_url` this
    service returned for an earlier job of the organization)."""

    file_url: Url


class JobPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: JobName | msgspec.UnsetType = msgspec.UNSET
    priority: Priority | msgspec.UnsetType = msgspec.UNSET
    tags: Tags | msgspec.UnsetType = msgspec.UNSET
