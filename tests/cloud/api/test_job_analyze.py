"""`POST /v1/jobs/analyze`: a G-code upload validated and analysed as job creation does it,
answered with what the job would carry, and nothing stored."""

from __future__ import annotations

from typing import Any

import msgspec

from cloud.views.analysis import warnings_of
from shared.gcode import analyze_stream
from tests.cloud.api.test_auth import key_with
from tests.cloud.api.test_jobs import GCODE, NOT_GCODE, stored_files, upload
from tests.cloud.conftest import Api, OrgClient, SessionRunner, assert_error

# Moves and nothing else: no slicer comments, no temperatures, no filament type.
BARE_GCODE = b"G28\nG1 Z0.2 F600\nG1 X10 Y10 E1.5 F1200\nG1 X20 Y10 E1.5\n"


async def analyze(owner: OrgClient, data: bytes = GCODE, name: str = "part.gcode") -> Any:
    return await owner.post("/v1/jobs/analyze", files={"file": (name, data, "text/x.gcode")})


async def test_the_analysis_is_what_the_job_then_carries_and_nothing_is_stored(
    owner: OrgClient,
) -> None:
    r = await analyze(owner, name="benchy.gcode")
    assert r.status_code == 200, r.text
    found = r.json()
    assert found == {
        "filename": "benchy.gcode",
        "size_bytes": len(GCODE),
        "estimated_duration": 3723,
        "estimated_duration_source": "slicer",
        "material": {"type": "PETG", "color": None, "estimated_usage": 3.8},
        "filament_used_mm": 1234.6,
        "layer_count": found["layer_count"],
        "layer_height_mm": 0.2,
        "nozzle_diameter_mm": 0.4,
        "first_layer_hotend_c": 240.0,
        "first_layer_bed_c": 85.0,
        "slicer": {"name": "PrusaSlicer", "version": "2.9.1+linux-x64-GTK3"},
        "warnings": [],
    }
    assert isinstance(found["layer_count"], int) and found["layer_count"] > 0
    assert stored_files(owner) == []
    assert (await owner.get("/v1/jobs")).json()["pagination"]["total"] == 0
    # Creating the job from the same bytes gives the same figures.
    job = (await upload(owner, name="benchy.gcode")).json()
    assert job["estimated_duration"] == found["estimated_duration"]
    assert job["material"] == found["material"]


async def test_a_file_that_is_not_gcode_gets_the_same_file_invalid_as_creation(
    owner: OrgClient,
) -> None:
    analysed = await analyze(owner, data=NOT_GCODE, name="photo.png")
    created = await upload(owner, data=NOT_GCODE, name="photo.png")
    assert_error(analysed, 422, "file_invalid", "file")
    assert analysed.json()["error"]["message"] == created.json()["error"]["message"]
    text = await analyze(owner, data=b"milk\neggs\nflour\n", name="list.gcode")
    assert_error(text, 422, "file_invalid", "file")
    assert "no motion commands" in text.json()["error"]["message"]
    assert_error(await analyze(owner, data=b""), 422, "file_invalid", "file")
    assert stored_files(owner) == []


async def test_past_the_upload_limit_it_is_413_file_invalid(owner: OrgClient) -> None:
    ctx = owner.api.app.state["ctx"]
    ctx.settings = msgspec.structs.replace(ctx.settings, max_upload_bytes=1000)
    assert_error(await analyze(owner), 413, "file_invalid", "file")
    assert stored_files(owner) == []


async def test_a_bare_file_is_analysed_with_warnings(owner: OrgClient) -> None:
    r = await analyze(owner, data=BARE_GCODE)
    assert r.status_code == 200, r.text
    found = r.json()
    assert found["estimated_duration_source"] == "computed"
    assert found["material"] == {"type": None, "color": None, "estimated_usage": None}
    assert found["slicer"] is None
    assert len(found["warnings"]) == 4
    assert "no filament type" in found["warnings"][0]


async def test_only_a_multipart_file_is_taken(owner: OrgClient) -> None:
    assert_error(await owner.post("/v1/jobs/analyze", json={}), 400, "invalid_request", "file")
    no_file = await owner.post("/v1/jobs/analyze", files={"name": (None, b"x")}, data={"name": "x"})
    assert_error(no_file, 400, "invalid_request", "file")
    extra = await owner.post(
        "/v1/jobs/analyze",
        files={"file": ("part.gcode", GCODE, "text/x.gcode")},
        data={"priority": "high"},
    )
    assert_error(extra, 400, "invalid_request", "priority")
    assert stored_files(owner) == []


async def test_it_needs_jobs_write(api: Api, owner: OrgClient, in_db: SessionRunner) -> None:
    reader = await key_with(api, owner, in_db, ["jobs:read"])
    r = await api.client.post(
        "/v1/jobs/analyze",
        headers=Api.auth(reader),
        files={"file": ("part.gcode", GCODE, "text/x.gcode")},
    )
    assert_error(r, 403, "insufficient_permissions")
    assert_error(await api.client.post("/v1/jobs/analyze"), 401, "invalid_api_key")


async def test_the_document_states_the_route(owner: OrgClient) -> None:
    document = owner.api.app.openapi_schema.to_schema()
    operation = document["paths"]["/v1/jobs/analyze"]["post"]
    assert set(operation["requestBody"]["content"]) == {"multipart/form-data"}
    assert {"200", "413", "422"} <= set(operation["responses"])


def test_warnings_name_what_to_check() -> None:
    assert warnings_of(analyze_stream([GCODE])) == []
    multi = GCODE.replace(b"; filament_type = PETG", b"; filament_type = PLA;PETG")
    (warning,) = warnings_of(analyze_stream([multi]))
    assert "PLA;PETG" in warning
