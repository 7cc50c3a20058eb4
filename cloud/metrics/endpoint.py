"""`GET /metrics`: the Prometheus text exposition, for whoever holds the metrics token.

Not public: the series describe the whole installation (every organization's printers and
jobs), so the route exists only when `metrics_token` is set (otherwise 404) and asks for
`Authorization: Bearer <metrics_token>` (401 without it). It is not an API route: no API key,
no per-key rate limit (the handler declares no scope, cloud/api/middleware.py), not in the
OpenAPI document.

Each scrape builds its own registry: the process counters (summed over workers in
multiprocess mode) and the farm gauges read from the database just before. A failure never
becomes a 500: without the database the rest is still served (and the failure logged); if
even that fails, 503.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Iterator
from typing import Any, Final

from litestar import Request, Response, get
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.api.deps import app_context
from cloud.errors import ApiError
from cloud.metrics.domain import FarmCollector, FarmSnapshot, read_snapshot
from cloud.metrics.multiproc import forget_dead_processes, multiproc_dir
from cloud.metrics.pool import sample_pool
from cloud.metrics.series import REGISTRY
from shared.enums import ErrorCode

log = logging.getLogger(__name__)

METRICS_PATH: Final = "/metrics"
# What `generate_latest` writes (named here: the library's constant for it is recent);
# Litestar adds `charset=utf-8` to a text/ media type.
TEXT_FORMAT: Final = "text/plain; version=0.0.4"
# Well inside Prometheus's default scrape timeout (10 s).
SCRAPE_DB_TIMEOUT_S: Final = 5.0


def token_matches(authorization: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time (over digests, so the
    length of a wrong guess tells nothing either)."""
    if not token or authorization is None:
        return False
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    given_digest = hashlib.sha256(given.strip().encode()).digest()
    return hmac.compare_digest(given_digest, hashlib.sha256(token.encode()).digest())


@get(METRICS_PATH, include_in_schema=False, name="metrics")
async def serve_metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The Prometheus text format (0.0.4) of every series in cloud.metrics.series."""
    ctx = app_context(request)
    if not token_matches(request.headers.get("authorization"), ctx.settings.metrics_token):
        raise ApiError(
            ErrorCode.INVALID_API_KEY,
            "GET /metrics needs `Authorization: Bearer <metrics_token>` (docs/monitoring.md).",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    snapshot: FarmSnapshot | None = None
    try:
        async with asyncio.timeout(SCRAPE_DB_TIMEOUT_S):
            snapshot = await read_snapshot(ctx.engine)
    except Exception:  # the database is away or slow: serve the process counters anyway
        log.warning("metrics: reading the farm gauges failed; served without them", exc_info=True)
    try:
        body = generate_latest(scrape_registry(ctx.engine, snapshot))
    except Exception:
        log.exception("metrics: building the exposition failed")
        return Response(b"metrics unavailable\n", status_code=503, media_type="text/plain")
    return Response(body, media_type=TEXT_FORMAT)


def scrape_registry(engine: AsyncEngine, snapshot: FarmSnapshot | None) -> CollectorRegistry:
    """What one scrape exports: this process's pool sampled now, every process's counters,
    and the farm gauges when the database answered."""
    sample_pool(engine)
    registry = CollectorRegistry()
    path = multiproc_dir()
    if path is not None:
        forget_dead_processes()
        MultiProcessCollector(registry, path=str(path))  # type: ignore[no-untyped-call]
    else:
        registry.register(_InProcess())
    if snapshot is not None:
        registry.register(FarmCollector(snapshot))
    return registry


class _InProcess(Collector):
    """This process's values (no multiprocess mode), without the `_created` samples the
    in-memory counters add: multiprocess mode has none, and the contract is the same in
    both modes."""

    def collect(self) -> Iterator[Metric]:
        for metric in REGISTRY.collect():
            copy = Metric(metric.name, metric.documentation, metric.type, metric.unit)
            copy.samples = [s for s in metric.samples if not s.name.endswith("_created")]
            yield copy
