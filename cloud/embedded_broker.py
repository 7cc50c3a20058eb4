"""The embedded MQTT broker (amqtt) for one-box installs and the demo.

A farm that outgrows it moves to Mosquitto or EMQX by pointing the cloud and the agents at
that broker's URL; nothing else changes. What amqtt lacks, and what the system does about
it (DESIGN.md "MQTT contract"): MQTT 3.1.1 only; no shared subscriptions (so one cloud
replica); QoS 1 messages queued for an absent persistent session are not delivered when it
returns (so the cloud re-sends commands until a reply arrives, and agents replay their
outbox after every reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

log = logging.getLogger(__name__)


def broker_config(host: str, port: int) -> dict[str, Any]:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        # Anonymous access: the embedded broker listens on the loopback address by default.
        # A deployment reachable from a LAN should use Mosquitto with per-agent credentials
        # and an ACL (docs/deploy.md).
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


@contextlib.asynccontextmanager
async def embedded_broker(host: str = "127.0.0.1", port: int = 1883) -> AsyncIterator[str]:
    """Run an amqtt broker on this event loop; yields its ``mqtt://`` URL."""
    try:
        from amqtt.broker import Broker
    except ImportError as exc:  # the `broker` extra is not installed
        raise RuntimeError(
            "the embedded broker needs the 'broker' extra: pip install 'autoprintfarm[broker]'"
        ) from exc
    # amqtt logs every packet at INFO; keep the operator's log readable.
    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.WARNING)
    broker = Broker(broker_config(host, port))
    await broker.start()
    log.info("embedded MQTT broker listening on %s:%d", host, port)
    try:
        yield f"mqtt://{host}:{port}"
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(broker.shutdown(), 10)
