"""The Home Assistant part of the bridge: what it subscribes to and what it does with it.

The bridge (cloud/bridge/service.py) owns the one MQTT connection; it hands this part every
message on a Home Assistant topic, pokes it when printers or organizations may have changed,
and runs `publisher.run()` among its tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from cloud.context import CloudContext
from cloud.homeassistant.discovery import (
    BIRTH_TOPIC,
    COMMAND_SUBSCRIPTION,
    CONFIG_SUBSCRIPTION,
    DISCOVERY_PREFIX,
    Ignored,
    is_command_topic,
    parse_press,
)
from cloud.homeassistant.presses import carry_out
from cloud.homeassistant.publisher import DiscoveryPublisher, Publish

log = logging.getLogger(__name__)


class HomeAssistant:
    def __init__(
        self, app: CloudContext, publish_retained: Publish, *, link_up: Callable[[], bool]
    ) -> None:
        self._app = app
        self.publisher = DiscoveryPublisher(app, publish_retained, link_up=link_up)

    @staticmethod
    def subscriptions(shared_group: str | None) -> list[tuple[str, int]]:
        # Every replica reads the configs and the birth message (each keeps its own view of
        # the broker); a press is handled once, by one replica of the group.
        commands = COMMAND_SUBSCRIPTION
        if shared_group:
            commands = f"$share/{shared_group}/{commands}"
        return [(CONFIG_SUBSCRIPTION, 1), (BIRTH_TOPIC, 1), (commands, 1)]

    @staticmethod
    def handles(topic: str) -> bool:
        return topic.startswith(DISCOVERY_PREFIX + "/") or is_command_topic(topic)

    @staticmethod
    def ignores_retained(topic: str) -> bool:
        """A press kept retained on the broker (a client set the flag) is old: never act on
        it when a subscription replays it."""
        return is_command_topic(topic)

    def poke(self) -> None:
        self.publisher.poke()

    def connected(self) -> None:
        self.publisher.connected()

    async def on_message(self, topic: str, payload: bytes) -> None:
        if topic == BIRTH_TOPIC:
            self.publisher.on_birth(payload)
        elif is_command_topic(topic):
            press = parse_press(topic, payload)
            if isinstance(press, Ignored):
                log.warning("ignored Home Assistant command on %s: %s", topic, press.reason)
                return
            await carry_out(self._app, press)
        else:
            self.publisher.on_config(topic, payload)
