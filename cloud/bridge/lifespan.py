"""Running the bridge inside the API process, for as long as the app runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from cloud.bridge.service import Bridge, BridgeSettings
from cloud.context import CloudContext, no_broker_sync, no_kick

log = logging.getLogger(__name__)


def bridge_lifespan(ctx: CloudContext) -> Callable[[Any], Any]:
    """A Litestar `lifespan` entry; does nothing unless the `mqtt_url` setting is set."""

    @contextlib.asynccontextmanager
    async def run(_app: Any) -> AsyncIterator[None]:
        settings = ctx.settings
        if not settings.mqtt_url:
            log.info("no mqtt_url set: the bridge to agents is not running in this process")
            yield
            return
        bridge = Bridge(
            ctx,
            BridgeSettings(
                mqtt_url=settings.mqtt_url,
                shared_group=settings.mqtt_shared_group or None,
                ca_file=settings.mqtt_ca_file or None,
                provisioning=settings.mqtt_provisioning == "dynsec",
            ),
        )
        if bridge.provisioner is None:
            log.warning(
                "mqtt_provisioning is off: agent and dashboard logins must be made on the "
                "broker by other means, and revoking one here does not disconnect it"
            )
        async with attached(ctx, bridge):
            yield

    return run


@contextlib.asynccontextmanager
async def attached(ctx: CloudContext, bridge: Bridge) -> AsyncIterator[Bridge]:
    """Run ``bridge`` with the context's hooks pointing at it: the API's kicks reach its
    worker, and a login change waits for its provisioner. Undone (and the bridge stopped)
    on exit."""
    if bridge.provisioner is not None:
        ctx.broker_sync = bridge.provisioner.sync
    ctx.kick = bridge.kick
    ctx.bridge_running = True
    task = asyncio.create_task(bridge.run(), name="bridge")
    try:
        yield bridge
    finally:
        ctx.bridge_running = False
        ctx.broker_sync = no_broker_sync
        ctx.kick = no_kick
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
