"""`GET /healthz`: the container health check's endpoint answers without a key and without
the database (cloud/health.py)."""

from __future__ import annotations

import httpx
import msgspec

from cloud.app import build_context, create_app
from cloud.settings import Settings
from shared.version import __version__
from tests.cloud.conftest import SQLITE_ONLY, Api
from tests.support.ports import free_port


@SQLITE_ONLY
async def test_healthz_answers_without_a_key_or_a_rate_limit(api: Api) -> None:
    for _ in range(3):
        r = await api.client.get("/healthz")
        assert r.status_code == 200
        assert r.json() == {"status": "ok", "version": __version__}
        assert "ratelimit-remaining" not in r.headers
    spec = await api.client.get("/docs/openapi.json")
    assert spec.status_code == 200
    assert "/healthz" not in spec.json()["paths"]


@SQLITE_ONLY
async def test_healthz_does_not_touch_the_database(settings: Settings) -> None:
    # Nothing listens on this port: any database access would fail the request.
    away = f"postgresql://postgres@127.0.0.1:{free_port()}/none"
    settings = msgspec.structs.replace(settings, database_url=away, db_timeout_s=2.0)
    ctx = build_context(settings)
    app = create_app(settings, context=ctx)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/healthz")).status_code == 200
            r = await client.get("/v1/printers", headers={"Authorization": "Bearer apf_x"})
            assert r.status_code >= 400
    finally:
        await ctx.engine.dispose()
