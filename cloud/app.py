"""`create_app(settings)`: the Litestar application of the `/v1` API."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Litestar
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from cloud.api.agents import AgentController
from cloud.api.deps import DEPENDENCIES
from cloud.api.files import FileController
from cloud.api.jobs import JobController
from cloud.api.materials import MaterialController
from cloud.api.middleware import ApiMiddleware
from cloud.api.org import OrganizationController, UserController
from cloud.api.printers import PrinterController
from cloud.api.reserved import AnalyticsController, WebhookController
from cloud.api.state import AppContext
from cloud.db.engine import create_engine, session_factory
from cloud.errors import error_response
from cloud.ratelimit import SqlRateLimiter
from cloud.services.auth import KeyResolver
from cloud.settings import Settings
from shared.version import __version__

logger = logging.getLogger(__name__)

OPENAPI_PATH = "/docs"
_MULTIPART_OVERHEAD_BYTES = 1024 * 1024


def build_context(settings: Settings) -> AppContext:
    engine = create_engine(
        settings.resolved_database_url,
        pool_size=settings.db_pool_size,
        timeout_s=settings.db_timeout_s,
    )
    sessions = session_factory(engine)
    return AppContext(
        settings=settings, engine=engine, sessions=sessions, keys=KeyResolver(sessions)
    )


def create_app(settings: Settings, *, context: AppContext | None = None) -> Litestar:
    ctx = context or build_context(settings)

    async def _dispose(_app: Litestar) -> None:
        if isinstance(ctx.limiter, SqlRateLimiter):
            await ctx.limiter.aclose()
        await ctx.engine.dispose()

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
        AgentController,
        FileController,
        AnalyticsController,
        WebhookController,
    ]
    return Litestar(
        route_handlers=handlers,
        dependencies=DEPENDENCIES,
        middleware=[ApiMiddleware()],
        exception_handlers={Exception: error_response, HTTPException: error_response},
        openapi_config=openapi if settings.docs_enabled else None,
        state=_state(ctx),
        on_shutdown=[_dispose],
        request_max_body_size=settings.max_upload_bytes + _MULTIPART_OVERHEAD_BYTES,
        debug=False,
    )


def _state(ctx: AppContext) -> Any:
    from litestar.datastructures import State

    return State({"ctx": ctx})
