"""`/v1/webhooks` CRUD: validation, the write-only secret, the URL policy, tenancy."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from cloud.webhooks.config import WebhookConfig
from tests.cloud.conftest import Api, OrgClient, assert_error
from tests.cloud.webhooks.conftest import create_hook

SPEC_BODY = {
    "url": "https://your-app.example/webhook",
    "events": [
        "job.created",
        "job.started",
        "job.completed",
        "job.failed",
        "printer.offline",
        "printer.online",
        "material.low",
    ],
    "secret": "webhook_secret_key",
    "enabled": True,
}


@pytest.fixture(autouse=True)
def _public_resolver(api: Api) -> None:
    """Resolve example host names to a public documentation-free address without DNS."""

    async def resolver(host: str, port: int) -> list[str]:
        return {"your-app.example": ["93.184.215.14"], "rebind.example": ["10.1.2.3"]}.get(
            host, ["127.0.0.1"] if host == "localhost" else []
        )

    api.app.state["webhooks"] = WebhookConfig(allow_private_urls=True, resolver=resolver)


async def test_create_with_spec_body_and_secret_shown_once(owner: OrgClient) -> None:
    response = await owner.post("/v1/webhooks", json=SPEC_BODY)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"].startswith("whk_")
    assert created["secret"] == "webhook_secret_key"
    assert created["events"] == SPEC_BODY["events"]
    assert created["enabled"] is True
    assert created["disabled_reason"] is None
    fetched = (await owner.get(f"/v1/webhooks/{created['id']}")).json()
    assert "secret" not in fetched
    assert fetched["url"] == SPEC_BODY["url"]


async def test_generated_secret_is_whsec_of_32_random_bytes(owner: OrgClient) -> None:
    first = await create_hook(owner, "https://your-app.example/a", ["job.*"])
    second = await create_hook(owner, "https://your-app.example/b", ["job.*"])
    for made in (first, second):
        assert made["secret"].startswith("whsec_")
        assert len(base64.b64decode(made["secret"][6:], validate=True)) == 32
    assert first["secret"] != second["secret"]


async def test_secret_never_appears_after_creation(owner: OrgClient) -> None:
    made = await create_hook(
        owner, "https://your-app.example/a", ["job.*"], secret="s3cret-value-1"
    )
    hook = f"/v1/webhooks/{made['id']}"
    answers = [
        await owner.get("/v1/webhooks"),
        await owner.get(hook),
        await owner.patch(hook, json={"secret": "s3cret-value-2", "events": ["printer.*"]}),
        await owner.get(hook),
        await owner.get(f"{hook}/deliveries"),
        await owner.get("/v1/webhooks?fields=id,url"),
    ]
    for response in answers:
        assert response.status_code == 200, response.text
        assert "s3cret" not in response.text
        assert "secret" not in response.text
    assert_error(await owner.get("/v1/webhooks?fields=secret"), 400, "invalid_request", "fields")


async def test_events_validated_with_the_parameter_named(owner: OrgClient) -> None:
    url = "https://your-app.example/a"
    for events in (["job.exploded"], ["job.*", "printers.*"], [], ["*"]):
        response = await owner.post("/v1/webhooks", json={"url": url, "events": events})
        assert_error(response, 400, "invalid_request", "events")
    made = await create_hook(owner, url, ["job.*", "job.*", "material.empty", "printer.*"])
    assert made["events"] == ["job.*", "material.empty", "printer.*"]
    response = await owner.patch(f"/v1/webhooks/{made['id']}", json={"events": ["nope"]})
    assert_error(response, 400, "invalid_request", "events")


async def test_bad_bodies_are_invalid_request(owner: OrgClient) -> None:
    url = "https://your-app.example/a"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"events": ["job.*"]}, "url"),
        ({"url": url}, "events"),
        ({"url": url, "events": ["job.*"], "secret": "short"}, "secret"),
        ({"url": url, "events": ["job.*"], "secret": "whsec_not*base64"}, "secret"),
        (
            {
                "url": url,
                "events": ["job.*"],
                "secret": "whsec_" + base64.b64encode(b"x" * 8).decode(),
            },
            "secret",
        ),
        ({"url": url, "events": ["job.*"], "colour": "red"}, "colour"),
    ]
    for body, param in cases:
        assert_error(await owner.post("/v1/webhooks", json=body), 400, "invalid_request", param)


SSRF_URLS = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.7/hook",
    "http://[::1]/hook",
    "http://[fd00::1]/hook",
    "http://100.64.0.1/hook",
    "https://rebind.example/hook",
    "ftp://your-app.example/hook",
    "http://your-app.example:25/hook",
    "not a url",
]


async def test_ssrf_urls_refused(api: Api, owner: OrgClient) -> None:
    config: WebhookConfig = api.app.state["webhooks"]
    api.app.state["webhooks"] = WebhookConfig(allow_private_urls=False, resolver=config.resolver)
    made = await create_hook(owner, "https://your-app.example/ok", ["job.*"])
    for url in SSRF_URLS:
        response = await owner.post("/v1/webhooks", json={"url": url, "events": ["job.*"]})
        assert_error(response, 400, "invalid_request", "url")
        response = await owner.patch(f"/v1/webhooks/{made['id']}", json={"url": url})
        assert_error(response, 400, "invalid_request", "url")
    assert (await owner.get(f"/v1/webhooks/{made['id']}")).json()["url"].endswith("/ok")
    assert (await owner.get("/v1/webhooks")).json()["pagination"]["total"] == 1


async def test_private_urls_allowed_when_the_deployment_says_so(owner: OrgClient) -> None:
    made = await create_hook(owner, "http://127.0.0.1:8081/hook", ["job.*"])
    assert made["url"] == "http://127.0.0.1:8081/hook"


async def test_patch_enabled_list_filter_sort_delete(owner: OrgClient) -> None:
    a = await create_hook(owner, "https://your-app.example/a", ["job.*"])
    b = await create_hook(owner, "https://your-app.example/b", ["printer.*"], enabled=False)
    listed = (await owner.get("/v1/webhooks?sort=-created_at&per_page=1")).json()
    assert listed["pagination"] == {"page": 1, "per_page": 1, "total": 2, "total_pages": 2}
    assert listed["data"][0]["id"] == b["id"]
    off = (await owner.get("/v1/webhooks?enabled=false")).json()["data"]
    assert [w["id"] for w in off] == [b["id"]]
    patched = (await owner.patch(f"/v1/webhooks/{b['id']}", json={"enabled": True})).json()
    assert patched["enabled"] is True
    assert (await owner.delete(f"/v1/webhooks/{a['id']}")).status_code == 204
    assert_error(await owner.get(f"/v1/webhooks/{a['id']}"), 404, "resource_not_found")
    assert_error(await owner.get("/v1/webhooks?colour=red"), 400, "invalid_request", "colour")


async def test_other_organizations_webhooks_are_invisible(
    owner: OrgClient, other: OrgClient
) -> None:
    made = await create_hook(owner, "https://your-app.example/a", ["job.*"])
    hook = f"/v1/webhooks/{made['id']}"
    assert (await other.get("/v1/webhooks")).json()["data"] == []
    for response in (
        await other.get(hook),
        await other.patch(hook, json={"enabled": False}),
        await other.delete(hook),
        await other.post(f"{hook}/test"),
        await other.get(f"{hook}/deliveries"),
    ):
        assert_error(response, 404, "resource_not_found")
    assert (await owner.get(hook)).json()["enabled"] is True
