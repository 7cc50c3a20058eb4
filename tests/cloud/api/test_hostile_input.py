"""Input built to break the server gets a 4xx, never a 500: every JSON route is tried."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cloud.api.params import JSON_BODY_MAX_BYTES
from tests.cloud.api.test_jobs import GCODE
from tests.cloud.conftest import OrgClient, assert_error

NESTED = b'{"name": ' + b"[" * 1000 + b"]" * 1000 + b"}"


def json_routes(owner: OrgClient) -> list[tuple[str, str]]:
    """(method, path) of every operation that takes a JSON body, path parameters filled."""
    document: dict[str, Any] = owner.api.app.openapi_schema.to_schema()
    routes = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                routes.append((method.upper(), re.sub(r"\{[^}]+\}", "x", path)))
    return routes


async def test_a_body_nested_a_thousand_deep_is_a_400_on_every_json_route(
    owner: OrgClient,
) -> None:
    routes = json_routes(owner)
    assert len(routes) >= 15  # the walk found the API's JSON routes
    answers = {}
    for method, path in routes:
        r = await owner.request(
            method, path, content=NESTED, headers={"content-type": "application/json"}
        )
        answers[(method, path)] = (r.status_code, r.json()["error"]["code"])
    assert {route: answer for route, answer in answers.items() if answer[0] >= 500} == {}
    assert set(answers.values()) == {(400, "invalid_request")}


async def test_a_nul_in_any_json_text_is_a_400_naming_it_on_both_databases(
    owner: OrgClient,
) -> None:
    """PostgreSQL cannot store U+0000 (it answered 500), SQLite would keep it silently."""
    answers = {}
    for method, path in json_routes(owner):
        body = {"name": "a\u0000b", "tags": ["ok", "b\u0000"]}
        if path == "/v1/jobs":
            body["file_url"] = "https://example.com/part.gcode"
        r = await owner.request(method, path, json=body)
        error = r.json()["error"]
        answers[(method, path)] = (r.status_code, error["code"], error.get("param"))
    assert set(answers.values()) == {(400, "invalid_request", "name")}, answers


@pytest.mark.parametrize(
    "url",
    [
        "/v1/printers?group=a%00b",
        "/v1/printers?tag=%00",
        "/v1/jobs?printer_id=prt_%00",
        "/v1/materials?type=PLA%00",
    ],
)
async def test_a_nul_in_a_query_parameter_is_a_400_naming_it(owner: OrgClient, url: str) -> None:
    r = await owner.get(url)
    assert_error(r, 400, "invalid_request", url.split("?")[1].split("=", maxsplit=1)[0])


@pytest.mark.parametrize(
    "path", ["/v1/printers/prt_%00", "/v1/jobs/job_%00x", "/v1/agents/%00", "/v1/webhooks/w%00"]
)
async def test_a_nul_in_a_path_parameter_is_a_400(owner: OrgClient, path: str) -> None:
    r = await owner.get(path)
    assert r.status_code == 400, r.text
    assert "NUL" in r.json()["error"]["message"]


async def test_a_nul_in_an_upload_field_or_an_invitation_is_a_400(owner: OrgClient) -> None:
    r = await owner.post(
        "/v1/jobs",
        files={"file": ("part.gcode", GCODE, "text/x.gcode")},
        data={"name": "a\u0000b"},
    )
    assert_error(r, 400, "invalid_request", "name")
    # `printer_id` is read as soon as its field arrives, before the file (was a 500 on
    # PostgreSQL: found by schemathesis once the document was strict).
    r = await owner.post(
        "/v1/jobs",
        files={"file": ("part.gcode", GCODE, "text/x.gcode")},
        data={"printer_id": "p\u0000"},
    )
    assert_error(r, 400, "invalid_request", "printer_id")
    r = await owner.post("/v1/users/invite", json={"email": "a\u0000@b.test", "role": "member"})
    assert_error(r, 400, "invalid_request", "email")


def body_routes(owner: OrgClient) -> list[tuple[str, str]]:
    """(method, path) of every operation that reads a body (JSON or not), params filled."""
    document: dict[str, Any] = owner.api.app.openapi_schema.to_schema()
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "x", path))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]


async def test_every_route_caps_its_body(owner: OrgClient) -> None:
    """A JSON body past the JSON limit is refused with 413 before it is held in memory (a
    200 MiB webhook secret once took the server from 108 to 521 MB)."""
    oversized = b'{"secret": "' + b"x" * (JSON_BODY_MAX_BYTES + 1) + b'"}'
    routes = body_routes(owner)
    assert ("POST", "/v1/webhooks") in routes and ("PATCH", "/v1/webhooks/x") in routes
    answers = {}
    for method, path in routes:
        r = await owner.request(
            method, path, content=oversized, headers={"content-type": "application/json"}
        )
        answers[(method, path)] = r.status_code
    assert {route: status for route, status in answers.items() if status != 413} == {}


async def test_options_names_every_method_of_a_path(owner: OrgClient) -> None:
    """Litestar 2 named one handler's method only where several share a path."""
    expected = {
        "/v1/jobs": "GET, OPTIONS, POST",
        "/v1/jobs/x": "DELETE, GET, OPTIONS, PATCH",
        "/v1/agents": "GET, OPTIONS, POST",
        "/v1/printers/x": "DELETE, GET, OPTIONS, PATCH",
        "/v1/jobs/x/actions": "OPTIONS, POST",
    }
    seen = {}
    for path in expected:
        r = await owner.request("OPTIONS", path)
        seen[path] = (r.status_code, r.headers.get("allow"))
    assert seen == {path: (204, allow) for path, allow in expected.items()}
