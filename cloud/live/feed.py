"""Fills the hub from the broker, over a connection of this process's own.

Not the bridge's subscription: with several replicas the bridge subscribes as
`$share/{group}/…`, so each replica receives only a share of the agents' messages, while the
browsers connected to any replica need all of their organization's. So every process
subscribes here, plainly, with a client id of its own (the bridge's + `-live`) and a clean
session: the broker keeps nothing for it while it is away, and nothing it misses is lost for
the farm (the bridge applies every message; a browser reloads on `resync`).

QoS 0: a live view wants the newest message, not a redelivered old one, and a stream's
buffer drops what a slow reader has not taken anyway. The contract publishes events at QoS 1;
subscribing at 0 only downgrades their delivery to this view.

The connection is held for as long as the process runs, whether a browser watches or not:
the feed also records every printer's temperatures (cloud/live/history.py), so that a chart
opened now can show the last 30 minutes. It is one QoS 0 subscription per process. Items
are made only for organizations with a browser watching. Each time the connection is made,
every open stream is told to `resync`: whatever was published while it was down never
reached this process. The broker replays the retained `status` and `state` of every agent
and printer at each subscription, so the streams also get every current snapshot.
"""

from __future__ import annotations

import logging
import time

from cloud.bridge.inbound import Refused, classify
from cloud.bridge.mqtt import LinkSettings, MqttLink
from cloud.bridge.service import default_client_id
from cloud.live.history import TemperatureHistory
from cloud.live.hub import LiveHub, ResyncReason
from cloud.live.items import AgentSessions, to_live
from shared.wire import TopicKind, subscription

log = logging.getLogger(__name__)

LIVE_TOPICS = (TopicKind.STATUS, TopicKind.PRINTER_STATE, TopicKind.TELEMETRY, TopicKind.EVENTS)
LIVE_QOS = 0
_SUFFIX = "-live"


def live_client_id() -> str:
    """The bridge's client id with `-live`: two connections of one process, told apart."""
    return default_client_id()[: 64 - len(_SUFFIX)] + _SUFFIX


class LiveFeed:
    def __init__(self, hub: LiveHub, history: TemperatureHistory, settings: LinkSettings) -> None:
        self._hub = hub
        self._history = history
        self._sessions = AgentSessions()
        self.link = MqttLink(
            settings,
            subscriptions=[(subscription(kind), LIVE_QOS) for kind in LIVE_TOPICS],
            handler=self._on_message,
            on_connected=self._on_connected,
        )

    async def run(self) -> None:
        """Stay connected until cancelled (reconnecting with the bridge's backoff)."""
        await self.link.run()

    async def _on_connected(self) -> None:
        self._hub.resync_all(ResyncReason.RECONNECTED)

    async def _on_message(self, topic: str, payload: bytes) -> None:
        message = classify(topic, payload)  # never raises
        if isinstance(message, Refused):
            # The bridge logs it as a warning already: it receives the same message.
            log.debug("live feed skipped %s: %s", message.topic, message.reason)
            return
        if self._sessions.is_stale(message):
            return
        self._history.observe(message, time.time())
        if not self._hub.watching(message.org_id):
            return
        item = to_live(message)
        if item is not None:
            self._hub.publish(message.org_id, item)
