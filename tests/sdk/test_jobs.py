"""`client.jobs`: JSON and multipart creation (with progress), lists, update, delete."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoprintfarm import (
    AsyncClient,
    Client,
    FileInvalidError,
    InvalidRequestError,
    Job,
    JobFileAnalysis,
    NotFoundError,
)
from tests.sdk.cloud import CloudProcess, Org
from tests.sdk.conftest import require_route
from tests.sdk.fileserver import FileServer


@pytest.fixture(autouse=True)
def _jobs_served(cloud: CloudProcess, org: Org) -> None:
    require_route(cloud, org, "/v1/jobs")


def test_create_from_file_url_then_get_update_delete(
    client: Client, file_server: FileServer
) -> None:
    job = client.jobs.create(
        file_url=file_server.url("model.gcode"),
        name="custom-part-v2",
        priority="high",
        material="PLA",
        copies=1,
        tags=["production", "order-456"],
    )
    assert isinstance(job, Job) and job.id.startswith("job_")
    assert (job.name, job.priority, job.status) == ("custom-part-v2", "high", "queued")
    assert job.tags == ["production", "order-456"]
    assert job.material is not None and job.material.type == "PLA"
    assert job.estimated_duration and job.estimated_duration > 0  # the file was analysed
    assert client.jobs.get(job.id) == job

    changed = client.jobs.update(job.id, priority="urgent", tags=["rush"])
    assert (changed.priority, changed.tags, changed.name) == ("urgent", ["rush"], job.name)

    assert client.jobs.delete(job.id) is None  # a queued job is removed outright
    with pytest.raises(NotFoundError):
        client.jobs.get(job.id)


def test_upload_a_path_with_progress(client: Client, gcode_file: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    job = client.jobs.create(
        file=gcode_file,
        name="custom-part",
        priority="high",
        on_progress=lambda sent, total: seen.append((sent, total)),
    )
    size = gcode_file.stat().st_size
    assert (job.name, job.priority) == ("custom-part", "high")
    assert len(seen) >= 2  # chunked: several reports for a ~600 kB file
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)
    assert seen[-1] == (size, size)
    assert all(total == size for _, total in seen)
    # The uploaded file is served back by the cloud under the job's file_url.
    assert job.file_url


def test_upload_a_file_object_and_tags(client: Client, gcode_file: Path) -> None:
    with gcode_file.open("rb") as fh:
        job = client.jobs.create(file=fh, tags=["a", "b"], copies=2)
    assert job.name  # defaults to the file name
    assert job.tags == ["a", "b"] and job.copies == 2
    raw = io.BytesIO(gcode_file.read_bytes())
    assert client.jobs.create(file=raw, filename="from-memory.gcode").name


def test_a_file_that_is_not_gcode_is_file_invalid(client: Client, tmp_path: Path) -> None:
    junk = tmp_path / "photo.gcode"
    junk.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(FileInvalidError) as info:
        client.jobs.create(file=junk)
    assert info.value.code == "file_invalid"
    assert info.value.request_id


def test_analyze_a_file_before_queueing_it(client: Client, gcode_file: Path) -> None:
    seen: list[int] = []
    found = client.jobs.analyze(gcode_file, on_progress=lambda sent, _total: seen.append(sent))
    assert isinstance(found, JobFileAnalysis)
    assert (found.filename, found.estimated_duration) == (gcode_file.name, 3723)
    assert found.material is not None
    assert (found.material.type, found.material.estimated_usage) == ("PLA", 12.3)
    assert found.slicer is not None and found.slicer.name == "PrusaSlicer"
    assert seen[-1] == gcode_file.stat().st_size
    assert client.jobs.list().pagination.total == 0  # nothing queued, nothing stored
    with gcode_file.open("rb") as fh:
        assert client.jobs.analyze(fh, filename="named.gcode").filename == "named.gcode"


def test_analyze_names_why_a_file_is_invalid(client: Client, tmp_path: Path) -> None:
    junk = tmp_path / "notes.gcode"
    junk.write_bytes(b"milk\neggs\n")
    with pytest.raises(FileInvalidError) as info:
        client.jobs.analyze(junk)
    assert info.value.code == "file_invalid" and "motion" in info.value.message


async def test_async_analyze(cloud: CloudProcess, org: Org, gcode_file: Path) -> None:
    async with AsyncClient(api_key=org.api_key, base_url=cloud.base_url) as client:
        found = await client.jobs.analyze(gcode_file)
    assert found.estimated_duration == 3723 and found.warnings == []


def test_exactly_one_source_is_required(client: Client, gcode_file: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        client.jobs.create()
    with pytest.raises(ValueError, match="exactly one"):
        client.jobs.create(file_url="http://127.0.0.1/x.gcode", file=gcode_file)


def test_list_filters_and_walks_pages(client: Client, gcode_file: Path) -> None:
    first = client.jobs.create(file=gcode_file, priority="low")
    ids = [first.id] + [
        client.jobs.create(file_url=first.file_url, priority="high").id for _ in range(4)
    ]
    page = client.jobs.list(per_page=2, sort="created_at")
    assert page.pagination.total == 5 and page.pagination.total_pages == 3
    assert [j.id for j in page] == ids
    assert [j.id for j in client.jobs.list(priority="low")] == [first.id]
    assert {j.id for j in client.jobs.list(status="queued", priority="high")} == set(ids[1:])
    since = datetime(2000, 1, 1, tzinfo=UTC)
    assert len(client.jobs.list(from_date=since, to_date="2999-01-01T00:00:00Z").data) == 5
    assert client.jobs.list(from_date="2999-01-01T00:00:00Z").data == []
    # A datetime without a zone is read as UTC, not refused by the API.
    assert len(client.jobs.list(from_date=datetime(2000, 1, 1)).data) == 5
    assert client.jobs.list(to_date=datetime(2000, 1, 1)).data == []
    with pytest.raises(InvalidRequestError) as bad:
        client.jobs.list(priority="whenever")
    assert bad.value.param == "priority"


async def test_async_upload_with_progress(cloud: CloudProcess, org: Org, gcode_file: Path) -> None:
    seen: list[int] = []
    size = (await asyncio.to_thread(gcode_file.stat)).st_size
    async with AsyncClient(api_key=org.api_key, base_url=cloud.base_url) as client:
        job = await client.jobs.create(
            file=gcode_file, on_progress=lambda sent, _total: seen.append(sent)
        )
        assert (await client.jobs.get(job.id)).id == job.id
        assert [j.id async for j in await client.jobs.list()] == [job.id]
        assert await client.jobs.delete(job.id) is None
    assert seen[-1] == size


def test_delete_of_a_printing_job_cancels_it_and_returns_it(
    client: Client, cloud: CloudProcess, org: Org, gcode_file: Path
) -> None:
    printer = client.printers.create(name="p", connection_url="http://10.4.0.1", api_key="k")
    agent_id = cloud.create_agent(org.org_id)
    cloud.set_printer_state(printer.id, status="printing", agent_id=agent_id)
    job = client.jobs.create(file=gcode_file, printer_id=printer.id)
    cloud.start_copy(job.id, printer.id, agent_id)
    cancelled = client.jobs.delete(job.id)
    assert isinstance(cancelled, Job)
    assert cancelled.id == job.id and cancelled.status == "cancelled"
    assert client.jobs.get(job.id).status == "cancelled"  # kept in the history


def test_pause_resume_and_cancel_a_waiting_job(client: Client, file_server: FileServer) -> None:
    job = client.jobs.create(
        file_url=file_server.url("model.gcode"), material="PLA", material_color="Black", copies=2
    )
    assert job.material is not None
    assert (job.material.type, job.material.color) == ("PLA", "Black")
    # Not on a printer yet: the cloud holds and releases it at once.
    assert client.jobs.pause(job.id).status == "paused"
    assert client.jobs.resume(job.id).status == "queued"
    cancelled = client.jobs.cancel(job.id)
    assert (cancelled.status, cancelled.copies_completed) == ("cancelled", 0)
    with pytest.raises(InvalidRequestError) as refused:
        client.jobs.resume(job.id)
    assert (refused.value.status_code, refused.value.param) == (409, "action")
    with pytest.raises(ValueError, match="unknown action"):
        client.jobs.action(job.id, "dance")
