"""`GET /metrics` in the app: the token rules, the series it exports, what they count."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import func, select

from cloud.app import build_context, create_app
from cloud.db.models import Job, Printer
from cloud.metrics import endpoint
from cloud.metrics.endpoint import token_matches
from cloud.settings import Settings, load_settings
from tests.cloud.api.test_printers import OCTO
from tests.cloud.bridge.test_bridge import upload_job
from tests.cloud.conftest import SQLITE_ONLY, Api, OrgClient, SessionRunner, assert_error
from tests.cloud.metrics.conftest import AUTH, FAMILIES, TOKEN, Scrape, scrape


@asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    ctx = build_context(settings)
    app = create_app(settings, context=ctx)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        await ctx.engine.dispose()


@SQLITE_ONLY
async def test_without_the_setting_there_is_no_metrics_endpoint(settings: Settings) -> None:
    async with client_for(msgspec.structs.replace(settings, metrics_token="")) as client:
        r = await client.get("/metrics", headers=AUTH)
        assert_error(r, 404, "resource_not_found")


@SQLITE_ONLY
async def test_the_token_is_required_and_compared_whole(api: Api, owner: OrgClient) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-of-some-length"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        # An API key, even an all-scopes one, does not open it.
        {"Authorization": f"Bearer {owner.org.api_key}"},
    ):
        r = await api.client.get("/metrics", headers=headers)
        assert_error(r, 401, "invalid_api_key")
        assert r.headers["www-authenticate"].startswith("Bearer")
    r = await api.client.get("/metrics", headers=AUTH)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert token_matches(f"bearer  {TOKEN} ", TOKEN)
    assert not token_matches(f"Bearer {TOKEN}", "")


def test_a_short_token_is_refused_by_the_settings() -> None:
    with pytest.raises(ValueError, match="metrics_token"):
        load_settings(environ={"APF_METRICS_TOKEN": "too-short"})
    with pytest.raises(ValueError, match="metrics_token"):
        load_settings(environ={"APF_METRICS_TOKEN": "has a space but is long"})
    assert load_settings(environ={"APF_METRICS_TOKEN": TOKEN}).metrics_token == TOKEN


@SQLITE_ONLY
async def test_not_in_the_openapi_document_and_not_rate_limited(settings: Settings) -> None:
    limited = msgspec.structs.replace(settings, rate_limit_per_minute=1)
    async with client_for(limited) as client:
        schema = (await client.get("/docs/openapi.json")).json()
        assert "/metrics" not in schema["paths"]
        for _ in range(3):  # the API's limit is 1 a minute per key; scrapes have no key
            r = await client.get("/metrics", headers=AUTH)
            assert r.status_code == 200
            assert "ratelimit" not in r.headers


async def test_exactly_the_contract_s_series_and_they_parse(api: Api, owner: OrgClient) -> None:
    await owner.get("/v1/printers")
    seen = await scrape(api)
    assert seen.families == FAMILIES


def test_the_doc_lists_every_cloud_series() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "monitoring.md").read_text()
    section = doc[doc.index("\n## Cloud\n") : doc.index("\n## Agent\n")]
    for name, kind in FAMILIES.items():
        assert f"`{name}_total`" in section if kind == "counter" else f"`{name}`" in section


async def test_routes_are_templates_never_ids(api: Api, owner: OrgClient) -> None:
    before = await scrape(api)
    printer = (await owner.post("/v1/printers", json=OCTO)).json()
    for _ in range(2):
        assert (await owner.get(f"/v1/printers/{printer['id']}")).status_code == 200
    assert (await owner.get("/v1/printers/prt_doesnotexist")).status_code == 404
    assert (await api.client.get(f"/no/such/{printer['id']}")).status_code == 404
    after = await scrape(api)

    def delta(**labels: str) -> float:
        name = "apf_http_requests_total"
        return after.value(name, **labels) - before.value(name, **labels)

    route = "/v1/printers/{printer_id}"
    assert delta(method="GET", route=route, status="200") == 2
    assert delta(method="GET", route=route, status="404") == 1
    assert delta(method="POST", route="/v1/printers", status="201") == 1
    assert delta(method="GET", route="unmatched", status="404") == 1
    assert (
        after.total("apf_http_request_duration_seconds_count", method="GET", route=route)
        - before.total("apf_http_request_duration_seconds_count", method="GET", route=route)
        == 3
    )
    routes = {labels["route"] for labels in after.labels_of("apf_http_requests_total")}
    assert all(r == "unmatched" or r.startswith("/") for r in routes)
    assert not any(printer["id"] in r or "prt_" in r or "/no/such" in r for r in routes)
    assert "/metrics" not in routes  # scrapes do not count themselves


async def test_farm_gauges_match_the_database(
    api: Api, owner: OrgClient, other: OrgClient, in_db: SessionRunner
) -> None:
    for who, n in ((owner, 2), (other, 1)):
        for i in range(n):
            r = await who.post("/v1/printers", json={**OCTO, "name": f"p-{i}"})
            assert r.status_code == 201, r.text
    jobs = [await upload_job(owner) for _ in range(3)] + [await upload_job(other)]
    r = await owner.post(f"/v1/jobs/{jobs[0]['id']}/actions", json={"action": "cancel"})
    assert r.status_code == 200, r.text

    async def counts(session: Any, column: Any) -> dict[str, int]:
        rows = await session.execute(select(column, func.count()).group_by(column))
        return {status: n for status, n in rows}

    printers = await in_db(lambda s: counts(s, Printer.status))
    by_status = await in_db(lambda s: counts(s, Job.status))
    assert by_status == {"queued": 3, "cancelled": 1}  # every organization's
    seen = await scrape(api)
    for status, n in printers.items():
        assert seen.value("apf_printers", status=status) == n
    assert seen.total("apf_printers") == 3
    assert seen.value("apf_printers", status="printing") == 0  # known statuses, even at 0
    for status, n in by_status.items():
        assert seen.value("apf_jobs", status=status) == n
    assert seen.value("apf_jobs", status="completed") == 0
    assert seen.value("apf_queue_depth") == 3
    assert 0 < seen.value("apf_queue_oldest_age_seconds") < 300
    assert seen.value("apf_webhook_retry_queue_depth") == 0
    assert not any("org" in key for labels in seen.labels_of("apf_printers") for key in labels)


async def test_an_empty_queue_is_age_zero(api: Api) -> None:
    seen = await scrape(api)
    assert seen.value("apf_queue_depth") == 0
    assert seen.value("apf_queue_oldest_age_seconds") == 0


@SQLITE_ONLY
async def test_the_pool_gauges_are_this_process_s_pool(api: Api) -> None:
    seen = await scrape(api)
    assert seen.value("apf_db_pool_size") == api.settings.db_pool_size
    assert 0 <= seen.value("apf_db_pool_checked_out") <= api.settings.db_pool_size


@SQLITE_ONLY
async def test_without_the_database_the_rest_is_served(
    api: Api, owner: OrgClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def database_away(_engine: Any) -> Any:
        raise OSError("connection refused")

    await owner.get("/v1/printers")
    monkeypatch.setattr(endpoint, "read_snapshot", database_away)
    r = await api.client.get("/metrics", headers=AUTH)
    assert r.status_code == 200
    seen = Scrape.parse(r.text)
    assert "apf_http_requests" in seen.families
    assert "apf_printers" not in seen.families  # absent, not a wrong 0

    def broken(*_args: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(endpoint, "scrape_registry", broken)
    r = await api.client.get("/metrics", headers=AUTH)
    assert r.status_code == 503
