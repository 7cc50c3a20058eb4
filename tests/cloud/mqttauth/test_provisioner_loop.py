"""The provisioner's loop ends when its bridge is cancelled, whatever it was waiting on."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from cloud.mqttauth.provisioner import Provisioner


async def _no_publish(topic: str, payload: bytes) -> None:
    raise AssertionError("nothing to publish with the link down")


async def test_a_cancel_that_arrives_with_a_kick_stops_the_loop() -> None:
    provisioner = Provisioner(
        cast(Any, None),  # the link is down: a pass touches neither database nor broker
        cast(Any, None),
        _no_publish,
        link_up=lambda: False,
        cloud_username=None,
        broker="mqtt://127.0.0.1:1",
    )
    task = asyncio.create_task(provisioner.run())
    await asyncio.sleep(0)  # one turn of the event loop: the task's first step runs
    assert provisioner.running and not task.done()  # waiting for a kick
    # The kick and the cancel in the same turn (a reconnect as the bridge shuts down):
    # Python 3.11's asyncio.wait_for returned the kick and dropped the cancel here.
    provisioner.connected()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
