"""The cloud app served by a real uvicorn on this event loop (streaming responses behave as
in production: a client that goes away is seen as `http.disconnect`), with organizations."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass

import uvicorn
from litestar import Litestar

from cloud.app import build_context, create_app
from cloud.live.hub import LiveHub
from cloud.live.stream import HUB_STATE_KEY
from cloud.orchestration.db import writing
from cloud.services.admin import CreatedOrg, create_org
from cloud.settings import Settings
from tests.support.ports import free_port

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 15.0


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the test process keeps pytest's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    app: Litestar
    orgs: dict[str, CreatedOrg]

    @property
    def hub(self) -> LiveHub:
        hub: LiveHub = self.app.state[HUB_STATE_KEY]
        return hub

    def auth(self, org: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.orgs[org].api_key}"}


@contextlib.asynccontextmanager
async def live_server(
    settings: Settings, org_names: Sequence[str] = ("acme", "rival")
) -> AsyncIterator[LiveServer]:
    ctx = build_context(settings)
    app = create_app(settings, context=ctx)
    orgs = {}
    async with writing(ctx) as session:
        for name in org_names:
            orgs[name] = await create_org(session, name, owner_email=f"o@{name}.test", plan="pro")
    port = free_port()
    server = _QuietServer(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            log_config=None,
            lifespan="on",
            # Streams still open at the end would hold the shutdown this long.
            timeout_graceful_shutdown=2,
        )
    )
    task = asyncio.create_task(server.serve(), name="live-test-server")
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the server stopped while starting")
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the server did not start")
        await asyncio.sleep(0.02)  # polling the server's started flag, with a deadline
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app, orgs)
    finally:
        server.should_exit = True
        done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT_S)
        if not done:
            task.cancel()
            await asyncio.wait({task})
            raise AssertionError("the server did not stop in time")
        task.result()
