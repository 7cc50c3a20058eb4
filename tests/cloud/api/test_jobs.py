"""`/v1/jobs`: creation from a URL and from an upload, analysis, filters, patch, delete."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from cloud.db.models import Event, Job, PrinterCommand
from tests.cloud.api.test_printers import make_agent, make_printer, set_status
from tests.cloud.conftest import (
    SQLITE_ONLY,
    CopyRunner,
    OrgClient,
    SessionRunner,
    assert_error,
)
from tests.cloud.net.httpserver import LoopbackHTTPServer, Route

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "gcode_samples" / "prusaslicer.gcode"
GCODE = SAMPLE.read_bytes()
NOT_GCODE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16


def stored_files(owner: OrgClient) -> list[Path]:
    """Files in the store (uploads in progress included)."""
    return [p for p in Path(owner.api.settings.files_dir).rglob("*") if p.is_file()]


def ids(response: Any) -> list[str]:
    return [item["id"] for item in response.json()["data"]]


async def upload(
    owner: OrgClient, *, data: bytes = GCODE, name: str = "part.gcode", **fields: str
) -> Any:
    return await owner.post("/v1/jobs", files={"file": (name, data, "text/x.gcode")}, data=fields)


async def make_job(owner: OrgClient, **fields: Any) -> dict[str, Any]:
    r = await upload(owner, **fields)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_upload_is_analysed(owner: OrgClient) -> None:
    r = await upload(owner, name="benchy.gcode", priority="high", copies="3", tags="a, b,a")
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["id"].startswith("job_")
    assert (job["name"], job["status"], job["priority"]) == ("benchy.gcode", "queued", "high")
    assert job["estimated_duration"] == 3723
    assert job["material"] == {"type": "PETG", "color": None, "estimated_usage": 3.8}
    assert (job["copies"], job["tags"], job["printer_id"]) == (3, ["a", "b"], None)
    assert job["file_url"].startswith("http://testserver.local/v1/files/fil_")
    assert job["completed_at"] is None
    got = await owner.get(f"/v1/jobs/{job['id']}")
    assert got.json() == job
    # The stored copy is what was uploaded, byte for byte.
    path = job["file_url"].removeprefix("http://testserver.local")
    download = await owner.get(path)
    assert download.status_code == 200
    assert download.content == GCODE


async def test_invalid_gcode_is_file_invalid_and_leaves_nothing(owner: OrgClient) -> None:
    r = await upload(owner, data=NOT_GCODE, name="photo.png")
    assert_error(r, 422, "file_invalid", "file")
    assert stored_files(owner) == []
    listing = await owner.get("/v1/jobs")
    assert listing.json()["pagination"]["total"] == 0


@SQLITE_ONLY
@pytest.mark.parametrize(
    "fields,param",
    [
        ({"priority": "asap"}, "priority"),
        ({"copies": "0"}, "copies"),
        ({"copies": "many"}, "copies"),
        ({"colour": "red"}, "colour"),
        ({"printer_id": "prt_nope"}, "printer_id"),
        ({"file_url": "http://x/y.gcode"}, "file_url"),
    ],
)
async def test_upload_bad_fields(owner: OrgClient, fields: dict[str, str], param: str) -> None:
    r = await owner.post("/v1/jobs", files={"file": ("part.gcode", GCODE)}, data=fields)
    assert r.status_code in (400, 404), r.text
    assert r.json()["error"]["param"] == param
    assert stored_files(owner) == []


@SQLITE_ONLY
async def test_upload_without_file_and_upload_too_large(owner: OrgClient) -> None:
    r = await owner.post("/v1/jobs", files={"name": (None, "x")})
    assert_error(r, 400, "invalid_request", "file")
    r = await owner.post(
        "/v1/jobs",
        content=b"--x\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert_error(r, 400, "invalid_request")


async def test_create_from_file_url_and_reuse(owner: OrgClient) -> None:
    routes = {
        "/model.gcode": Route(body=GCODE),
        "/missing.gcode": Route(status=404),
        "/bad.gcode": Route(body=NOT_GCODE),
    }
    async with LoopbackHTTPServer(routes) as server:
        r = await owner.post(
            "/v1/jobs",
            json={
                "file_url": f"{server.base}/model.gcode",
                "name": "custom-part-v2",
                "material": "PLA",
            },
        )
        assert r.status_code == 201, r.text
        job = r.json()
        assert (job["name"], job["estimated_duration"]) == ("custom-part-v2", 3723)
        assert job["material"]["type"] == "PLA"
        r = await owner.post("/v1/jobs", json={"file_url": f"{server.base}/missing.gcode"})
        assert_error(r, 400, "invalid_request", "file_url")
        r = await owner.post("/v1/jobs", json={"file_url": f"{server.base}/bad.gcode"})
        assert_error(r, 422, "file_invalid", "file_url")
        fetched = len(server.requests)
    # The job's own file_url is reused without a download.
    again = await owner.post("/v1/jobs", json={"file_url": job["file_url"]})
    assert again.status_code == 201, again.text
    assert again.json()["file_url"] == job["file_url"]
    assert fetched == 3


async def test_private_file_url_refused_unless_allowed(owner: OrgClient) -> None:
    from cloud.api.state import AppContext

    ctx: AppContext = owner.api.app.state["ctx"]
    ctx.settings = owner.api.settings.__class__(
        **{**_settings_dict(owner), "allow_private_urls": False}
    )
    async with LoopbackHTTPServer({"/m.gcode": Route(body=GCODE)}) as server:
        r = await owner.post("/v1/jobs", json={"file_url": f"{server.base}/m.gcode"})
    assert_error(r, 400, "invalid_request", "file_url")
    assert "not allowed" in r.json()["error"]["message"]


def _settings_dict(owner: OrgClient) -> dict[str, Any]:
    import msgspec

    return dict(msgspec.structs.asdict(owner.api.settings))


@SQLITE_ONLY
@pytest.mark.parametrize(
    "body,param",
    [
        ({}, "file_url"),
        ({"file_url": "http://h/x", "priority": "asap"}, "priority"),
        ({"file_url": "http://h/x", "copies": 0}, "copies"),
        ({"file_url": "http://h/x", "tags": [""]}, "tags"),
        ({"file_url": "http://h/x", "extra": 1}, "extra"),
        ({"file_url": "ftp://h/x"}, "file_url"),
        ({"file_url": "http://testserver.local/v1/files/fil_00000000000000000000"}, "file_url"),
    ],
)
async def test_create_json_errors(owner: OrgClient, body: dict[str, Any], param: str) -> None:
    r = await owner.post("/v1/jobs", json=body)
    assert r.status_code in (400, 404), r.text
    assert r.json()["error"]["param"] == param


async def test_list_filters_and_sort(owner: OrgClient, in_db: SessionRunner) -> None:
    p = await make_printer(owner)
    low = await make_job(owner, priority="low")
    urgent = await make_job(owner, priority="urgent", printer_id=p["id"])
    normal = await make_job(owner)

    async def mark_printing(session: Any) -> None:
        (await session.get(Job, urgent["id"])).status = "printing"

    await in_db(mark_printing)
    r = await owner.get("/v1/jobs")
    assert ids(r) == [normal["id"], urgent["id"], low["id"]]  # newest first
    r = await owner.get("/v1/jobs", params={"sort": "-priority"})
    assert ids(r) == [urgent["id"], normal["id"], low["id"]]
    r = await owner.get("/v1/jobs", params={"status": "queued", "sort": "priority"})
    assert ids(r) == [low["id"], normal["id"]]
    r = await owner.get("/v1/jobs", params={"printer_id": p["id"]})
    assert ids(r) == [urgent["id"]]
    r = await owner.get("/v1/jobs", params={"priority": "low"})
    assert ids(r) == [low["id"]]
    r = await owner.get("/v1/jobs", params={"from": normal["created_at"]})
    assert ids(r) == [normal["id"]]
    r = await owner.get("/v1/jobs", params={"to": low["created_at"]})
    assert ids(r) == [low["id"]]
    r = await owner.get("/v1/jobs", params={"fields": "id,status", "sort": "created_at"})
    assert r.json()["data"][1] == {"id": urgent["id"], "status": "printing"}


async def test_list_from_to_take_dates_and_datetimes(
    owner: OrgClient, in_db: SessionRunner
) -> None:
    created = {
        "jan1": datetime(2026, 1, 1, 10, 0, tzinfo=UTC),
        "jan2_late": datetime(2026, 1, 2, 23, 59, 59, 500_000, tzinfo=UTC),
        "jan3": datetime(2026, 1, 3, 0, 0, tzinfo=UTC),
    }
    jobs = {name: (await make_job(owner))["id"] for name in created}

    async def backdate(session: Any) -> None:
        for name, at in created.items():
            (await session.get(Job, jobs[name])).created_at = at

    await in_db(backdate)

    async def listed(**params: str) -> set[str]:
        r = await owner.get("/v1/jobs", params=params)
        assert r.status_code == 200, r.text
        return {name for name, job_id in jobs.items() if job_id in ids(r)}

    # A date `from` starts at its midnight (UTC); a date `to` includes its whole day.
    assert await listed(**{"from": "2026-01-02"}) == {"jan2_late", "jan3"}
    assert await listed(to="2026-01-02") == {"jan1", "jan2_late"}
    assert await listed(**{"from": "2026-01-02", "to": "2026-01-02"}) == {"jan2_late"}
    # A datetime is taken as given, in any zone.
    assert await listed(to="2026-01-02T12:00:00Z") == {"jan1"}
    assert await listed(**{"from": "2026-01-03T01:00:00+01:00"}) == {"jan3"}
    assert await listed(to="2026-01-03T00:00:00Z") == set(created)


@SQLITE_ONLY
@pytest.mark.parametrize(
    "params,param",
    [
        ({"status": "done"}, "status"),
        ({"priority": "asap"}, "priority"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2025-01-01T00:00:00"}, "to"),
        ({"to": "2025-13-01"}, "to"),
        ({"from": "2025-01-01T25:00:00Z"}, "from"),
        ({"sort": "size"}, "sort"),
        ({"fields": "id,secret"}, "fields"),
        ({"printer": "prt_x"}, "printer"),
    ],
)
async def test_list_rejects(owner: OrgClient, params: dict[str, str], param: str) -> None:
    r = await owner.get("/v1/jobs", params=params)
    assert_error(r, 400, "invalid_request", param)


async def test_patch_only_while_queued(owner: OrgClient, in_db: SessionRunner) -> None:
    job = await make_job(owner)
    r = await owner.patch(
        f"/v1/jobs/{job['id']}", json={"name": "n2", "priority": "urgent", "tags": ["t"]}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["priority"], r.json()["tags"]) == ("n2", "urgent", ["t"])
    r = await owner.patch(f"/v1/jobs/{job['id']}", json={"status": "completed"})
    assert_error(r, 400, "invalid_request", "status")

    async def start(session: Any) -> None:
        (await session.get(Job, job["id"])).status = "printing"

    await in_db(start)
    r = await owner.patch(f"/v1/jobs/{job['id']}", json={"name": "n3"})
    assert_error(r, 409, "invalid_request")


async def test_delete_queued_removes_running_cancels(
    owner: OrgClient, in_db: SessionRunner, run_copy: CopyRunner
) -> None:
    agent_id = await make_agent(owner)
    printer = await make_printer(owner, agent_id=agent_id)
    queued = await make_job(owner)
    running = await make_job(owner, printer_id=printer["id"])
    await set_status(in_db, printer["id"], "printing")
    await run_copy(running["id"], printer["id"])
    r = await owner.delete(f"/v1/jobs/{queued['id']}")
    assert r.status_code == 204
    assert_error(await owner.get(f"/v1/jobs/{queued['id']}"), 404, "resource_not_found")
    r = await owner.delete(f"/v1/jobs/{running['id']}")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert r.json()["completed_at"] is not None

    async def rows(session: Any) -> tuple[list[Any], list[str]]:
        cmds = list((await session.execute(select(PrinterCommand))).scalars())
        events = [
            e.type
            for e in (
                await session.execute(select(Event).order_by(col(Event.created_at)))
            ).scalars()
        ]
        return cmds, events

    cmds, events = await in_db(rows)
    # The start (never sent: no agent runs here) and the cancel of that job on its printer.
    assert sorted((c.action, c.printer_id, c.agent_id, c.job_id) for c in cmds) == [
        ("cancel", printer["id"], agent_id, running["id"]),
        ("start_job", printer["id"], agent_id, running["id"]),
    ]
    assert events == ["job.created", "job.created", "job.started", "job.cancelled"]


async def test_deleting_last_job_removes_its_file(owner: OrgClient) -> None:
    job = await make_job(owner)
    assert len(stored_files(owner)) == 1
    assert (await owner.delete(f"/v1/jobs/{job['id']}")).status_code == 204
    assert stored_files(owner) == []


@SQLITE_ONLY
async def test_upload_over_the_limit_is_refused_and_removed(owner: OrgClient) -> None:
    import msgspec

    ctx = owner.api.app.state["ctx"]
    ctx.settings = msgspec.structs.replace(ctx.settings, max_upload_bytes=1000)
    r = await upload(owner)
    assert_error(r, 413, "file_invalid", "file")
    assert stored_files(owner) == []


async def test_the_stored_file_is_served_as_the_document_says(owner: OrgClient) -> None:
    job = await make_job(owner, name="part-7")
    r = await owner.get(job["file_url"].removeprefix("http://testserver.local"))
    assert r.status_code == 200
    assert r.content == GCODE
    assert r.headers["content-type"].startswith("text/x.gcode")
    assert "last-modified" in r.headers and "etag" in r.headers
    assert r.headers["content-disposition"].startswith("attachment")
    document = owner.api.app.openapi_schema.to_schema()
    ok = document["paths"]["/v1/files/{file_id}"]["get"]["responses"]["200"]
    assert set(ok["content"]) == {"text/x.gcode"}
    assert {"Last-Modified", "ETag", "Content-Disposition"} <= set(ok["headers"])
