"""Dependencies handlers receive: a database session and the calling principal."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.api.state import AppContext
from cloud.auth.keys import Principal
from cloud.services.context import ServiceContext


def app_context(request: Request[Any, Any, Any]) -> AppContext:
    ctx: AppContext = request.app.state["ctx"]
    return ctx


async def provide_session(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    async with app_context(request).sessions() as session:
        yield session


async def provide_ctx(request: Request[Any, Any, Any]) -> AsyncGenerator[ServiceContext, None]:
    # One generator dependency, not two (session + context): Litestar closes several in a
    # task group of their own, which cost more than a whole list query.
    principal = request.scope["state"].get("principal")
    if not isinstance(principal, Principal):  # a handler forgot opt={"scope": ...}
        raise RuntimeError(f"{request.url.path} has no scope declared")
    app = app_context(request)
    ctx = ServiceContext(sessions=app.sessions, principal=principal, app=app, reader=app.reader)
    try:
        yield ctx
    finally:
        # A request that failed between its first flush and its commit is rolled back and
        # frees the lock here.
        await ctx.close()


Svc = NamedDependency[ServiceContext]

DEPENDENCIES = {
    "db_session": Provide(provide_session),
    "svc": Provide(provide_ctx),
}
