"""`GET /healthz`: is this process up and serving? For container health checks and load
balancers, which ask every few seconds.

Cheap on purpose: no database, no broker, no API key, no rate limit (the handler declares
no scope, cloud/api/middleware.py), not in the OpenAPI document. A database outage shows in
the API's own answers and in /metrics; restarting a process over it would not help.
"""

from __future__ import annotations

from typing import Final

from litestar import get

from shared.version import __version__

HEALTH_PATH: Final = "/healthz"


@get(HEALTH_PATH, include_in_schema=False, name="health", cache_control=None)
async def serve_health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}
