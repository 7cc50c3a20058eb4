"""`create_app(settings)`: the Litestar application of the `/v1` API."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.exceptions import HTTPException
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from cloud.api.agents import AgentController
from cloud.api.analytics import AnalyticsController
from cloud.api.api_keys import ApiKeyController
from cloud.api.deps import DEPENDENCIES
from cloud.api.files import FileController
from cloud.api.idempotency import IdempotencyMiddleware
from cloud.api.jobs import JobController
from cloud.api.materials import MaterialController
from cloud.api.middleware import ApiMiddleware
from cloud.api.mqtt_credentials import MqttCredentialController
from cloud.api.org import InvitationController, OrganizationController, UserController
from cloud.api.page_cache import PageCache
from cloud.api.printers import PrinterController
from cloud.api.state import AppContext
from cloud.api.strict_schema import StrictBodySchemaPlugin
from cloud.api.text import ApiRequest
from cloud.api.webhooks import WebhookController
from cloud.bridge.lifespan import bridge_lifespan
from cloud.dashboard.pages import dashboard_handlers
from cloud.dashboard.signin import SessionController
from cloud.db.engine import create_engine, is_sqlite, session_factory
from cloud.db.pg_snapshot import SnapshotVersion
from cloud.db.private import private_dir
from cloud.db.reader import SqliteReader
from cloud.db.writer import WriteLock, guard_unlocked_writes
from cloud.errors import error_response
from cloud.files import GcodeStore
from cloud.files.signing import MIN_SECRET_BYTES
from cloud.health import serve_health
from cloud.live.history import TemperatureHistory
from cloud.live.hub import LiveHub
from cloud.live.lifespan import live_lifespan
from cloud.live.stream import HUB_STATE_KEY, live_updates
from cloud.live.temperatures import HISTORY_STATE_KEY, printer_temperatures
from cloud.metrics.endpoint import METRICS_PATH, serve_metrics
from cloud.metrics.http import count_requests
from cloud.metrics.pool import pool_metrics_lifespan
from cloud.ratelimit import MemoryRateLimiter, SqlRateLimiter
from cloud.sealing import SecretBox, SecretsKeyError
from cloud.services.auth import KeyResolver
from cloud.services.printer_secrets import seal_legacy_printer_secrets
from cloud.settings import Settings, SettingsError
from cloud.webhooks.config import WebhookConfig
from cloud.webhooks.secrets import seal_legacy_webhook_secrets
from cloud.webhooks.worker import webhook_lifespan
from shared.version import __version__

logger = logging.getLogger(__name__)

OPENAPI_PATH = "/docs"
_MULTIPART_OVERHEAD_BYTES = 1024 * 1024


def build_context(settings: Settings) -> AppContext:
    url = settings.resolved_database_url
    sqlite = is_sqlite(url)
    engine = create_engine(url, pool_size=settings.db_pool_size, timeout_s=settings.db_timeout_s)
    sessions = session_factory(engine)
    # Background workers (the bridge, webhook delivery) get a pool of their own. On SQLite
    # they take the in-process write lock and then a connection, while a request holds its
    # connection and then waits for that lock: from one shared pool, enough waiting requests
    # would leave the lock's holder no connection (a deadlock until the pool times out).
    background_engine = create_engine(url, pool_size=4, timeout_s=settings.db_timeout_s)
    write_lock = WriteLock(enabled=sqlite)
    for guarded in (engine, background_engine):
        guard_unlocked_writes(guarded, write_lock, on_unlocked=settings.sqlite_unlocked_writes)
    limiter: MemoryRateLimiter | SqlRateLimiter = (
        SqlRateLimiter(engine, write_lock=write_lock)
        if settings.rate_limit_backend == "database"
        else MemoryRateLimiter()
    )
    reader = (
        SqliteReader(url, pool_size=settings.db_pool_size, timeout_s=settings.db_timeout_s)
        if sqlite
        else None
    )
    snapshots = None if sqlite else SnapshotVersion(url, timeout_s=settings.db_timeout_s)
    signing = signing_key(settings)
    return AppContext(
        settings=settings,
        engine=engine,
        sessions=sessions,
        background_engine=background_engine,
        background_sessions=session_factory(background_engine),
        keys=KeyResolver(sessions, write_lock, reader),
        store=GcodeStore(settings.files_dir),
        limiter=limiter,
        signing_key=signing,
        secrets=secret_box(settings, signing),
        write_lock=write_lock,
        reader=reader,
        snapshots=snapshots,
        page_cache=_page_cache(reader, snapshots),
    )


def _page_cache(reader: SqliteReader | None, snapshots: SnapshotVersion | None) -> PageCache:
    """List pages kept while the database is unchanged: its version is SQLite's
    `data_version` or PostgreSQL's current snapshot (cloud/api/page_cache.py)."""
    if reader is not None:
        sqlite_reader = reader

        async def data_version() -> int:
            return sqlite_reader.data_version()

        return PageCache(data_version)
    assert snapshots is not None  # PostgreSQL
    return PageCache(snapshots.current)


def signing_key(settings: Settings) -> bytes:
    """The secret of signed download URLs: the setting, or a key kept in the data dir.

    Several replicas must share it (set APF_SIGNING_KEY), or a link signed by one is refused
    by another.
    """
    if settings.signing_key:
        key = settings.signing_key.encode()
        if len(key) < MIN_SECRET_BYTES:
            raise SettingsError(f"signing_key must be at least {MIN_SECRET_BYTES} bytes")
        return key
    path = Path(settings.data_dir) / "signing.key"
    private_dir(path.parent)
    try:
        # O_EXCL: two processes starting at once must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    return path.read_bytes().strip()


def secret_box(settings: Settings, signing: bytes) -> SecretBox:
    old = [k for k in settings.secrets_old_keys.split(",") if k.strip()]
    try:
        return SecretBox.from_settings(settings.secrets_key, old, signing.decode())
    except SecretsKeyError as exc:
        raise SettingsError(str(exc)) from None


def create_app(
    settings: Settings,
    *,
    context: AppContext | None = None,
    webhooks: WebhookConfig | None = None,
) -> Litestar:
    ctx = context or build_context(settings)
    # The webhook worker runs in every process (claims are safe across replicas).
    webhook_config = webhooks or WebhookConfig(allow_private_urls=settings.allow_private_urls)
    # The dashboard's live streams of this process (cloud/live/), filled by its live feed.
    live = LiveHub()
    history = TemperatureHistory()  # what the live feed recorded, for the Printer page's chart

    async def _dispose(_app: Litestar) -> None:
        await ctx.keys.drain()  # the keys' last-use stamps under way, before their engine goes
        if isinstance(ctx.limiter, SqlRateLimiter):
            await ctx.limiter.aclose()
        if ctx.reader is not None:
            ctx.reader.dispose()
        if ctx.snapshots is not None:
            await ctx.snapshots.close()
        await ctx.engine.dispose()
        if ctx.background_engine is not None:
            await ctx.background_engine.dispose()

    openapi = OpenAPIConfig(
        title="AutoPrintFarm API",
        version=__version__,
        description="The /v1 REST API of AutoPrintFarm. Authenticate with "
        "`Authorization: Bearer <API key>`; see docs/api.md.",
        path=OPENAPI_PATH,
        render_plugins=[ScalarRenderPlugin(path="/"), SwaggerRenderPlugin(path="/swagger")],
        use_handler_docstrings=True,
    )
    handlers: list[Any] = [
        PrinterController,
        JobController,
        MaterialController,
        OrganizationController,
        UserController,
        InvitationController,
        AgentController,
        MqttCredentialController,
        FileController,
        AnalyticsController,
        WebhookController,
        ApiKeyController,
        serve_health,
    ]
    # Prometheus metrics: only with a token to guard them (cloud/metrics/endpoint.py).
    metrics_on = bool(settings.metrics_token)
    if metrics_on:
        handlers.append(serve_metrics)
    # The browser dashboard: its pages and files at `/` (cloud/dashboard/pages.py), its
    # sign-in (cloud/dashboard/signin.py) and its live stream (cloud/live/stream.py).
    if settings.dashboard_enabled:
        handlers.extend(
            [*dashboard_handlers(), SessionController, live_updates, printer_temperatures]
        )
    app = Litestar(
        route_handlers=handlers,
        dependencies=DEPENDENCIES,
        # Outermost first: the idempotency layer needs the caller the API layer found.
        middleware=[ApiMiddleware(), IdempotencyMiddleware()],
        request_class=ApiRequest,
        # Request bodies documented as strictly as they are validated (cloud/api/strict_schema.py).
        plugins=[StrictBodySchemaPlugin()],
        exception_handlers={Exception: error_response, HTTPException: error_response},
        openapi_config=openapi if settings.docs_enabled else None,
        # The process (the `apf` command line) owns logging: Litestar must not reconfigure the
        # root logger, or every library's INFO lines would flood an operator's terminal.
        logging_config=LoggingConfig(configure_root_logger=False, log_exceptions="never"),
        state=_state(ctx, webhook_config, live, history),
        lifespan=[
            _seal_legacy_secrets(ctx),
            webhook_lifespan(ctx.background(), webhook_config, ctx.secrets, ctx.write_lock),
            bridge_lifespan(ctx),
            *([live_lifespan(ctx.settings, live, history)] if settings.dashboard_enabled else []),
            *([pool_metrics_lifespan(ctx.engine)] if metrics_on else []),
        ],
        on_shutdown=[_dispose],
        request_max_body_size=settings.max_upload_bytes + _MULTIPART_OVERHEAD_BYTES,
        debug=False,
    )
    if metrics_on:
        count_requests(app, skip_route=METRICS_PATH)
    return app


def _seal_legacy_secrets(ctx: AppContext) -> Any:
    """At start-up: seal printer keys and webhook secrets an earlier version kept in plain
    text."""

    @contextlib.asynccontextmanager
    async def run(_app: Any) -> AsyncIterator[None]:
        await seal_legacy_printer_secrets(ctx)
        await seal_legacy_webhook_secrets(ctx)
        yield

    return run


def _state(
    ctx: AppContext, webhooks: WebhookConfig, live: LiveHub, history: TemperatureHistory
) -> Any:
    from litestar.datastructures import State

    return State(
        {"ctx": ctx, "webhooks": webhooks, HUB_STATE_KEY: live, HISTORY_STATE_KEY: history}
    )
