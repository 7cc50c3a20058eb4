"""A job as the API returns it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cloud.context import CloudContext
from cloud.db.models import Job
from cloud.db.rows import json_list, utc
from cloud.files.urls import file_url
from cloud.schemas.jobs import JobMaterial, JobOut
from cloud.views.numbers import tenth

# What a response needs, in the order `job_from_values` unpacks.
JOB_COLUMNS = (
    "id",
    "name",
    "status",
    "priority",
    "printer_id",
    "progress",
    "file_id",
    "estimated_duration_s",
    "elapsed_time_s",
    "material_type",
    "material_color",
    "estimated_usage_g",
    "copies",
    "copies_done",
    "tags",
    "created_at",
    "updated_at",
    "started_at",
    "completed_at",
    "failure_reason",
)


def job_out(job: Job, app: CloudContext) -> JobOut:
    return job_from_values(tuple(getattr(job, name) for name in JOB_COLUMNS), app)


def job_from_values(values: Sequence[Any], app: CloudContext) -> JobOut:
    """From `JOB_COLUMNS` values, raw (a list row) or processed (an ORM object)."""
    (id_, name, status, priority, printer_id, progress, file_id, duration, elapsed,
     material_type, material_color, usage, copies, copies_done, tags, created_at, updated_at,
     started_at, completed_at, failure_reason) = values  # fmt: skip
    return JobOut(
        id=id_,
        name=name,
        status=status,  # plain str: this runs per row of a list page
        priority=priority,
        printer_id=printer_id,
        progress=tenth(progress),
        file_url=file_url(app, file_id),
        estimated_duration=duration,
        elapsed_time=elapsed,
        material=JobMaterial(
            type=material_type, color=material_color, estimated_usage=tenth(usage)
        ),
        copies=copies,
        copies_completed=copies_done,
        tags=json_list(tags),
        created_at=utc(created_at),
        updated_at=utc(updated_at),
        started_at=utc(started_at),
        completed_at=utc(completed_at),
        failure_reason=failure_reason,
    )
