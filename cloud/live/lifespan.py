"""Running the live feed inside the API process, for as long as the app runs: connected
from start to stop, whether a browser watches or not (it records the temperature history)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from cloud.bridge.mqtt import LinkSettings
from cloud.live.feed import LiveFeed, live_client_id
from cloud.live.history import TemperatureHistory
from cloud.live.hub import LiveHub
from cloud.settings import Settings

log = logging.getLogger(__name__)


def live_lifespan(
    settings: Settings, hub: LiveHub, history: TemperatureHistory
) -> Callable[[Any], Any]:
    """A Litestar `lifespan` entry; does nothing unless the `mqtt_url` setting is set (the
    streams are then served with `"live": false` and carry only keepalives, and no
    temperature history is kept)."""

    @contextlib.asynccontextmanager
    async def run(_app: Any) -> AsyncIterator[None]:
        if not settings.mqtt_url:
            log.info("no mqtt_url set: dashboard streams carry no live updates")
            yield
            return
        feed = LiveFeed(
            hub,
            history,
            LinkSettings(
                url=settings.mqtt_url,
                client_id=live_client_id(),
                ca_file=settings.mqtt_ca_file or None,
                # Nothing kept for this connection while it is away (cloud/live/feed.py).
                clean_session=True,
            ),
        )
        task = asyncio.create_task(feed.run(), name="live-feed")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return run
