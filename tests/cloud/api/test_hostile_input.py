"""Input built to break the server gets a 4xx, never a 500: every JSON route is tried."""

from __future__ import annotations

import re
from typing import Any

from tests.cloud.conftest import OrgClient

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
