"""`apf cloud check-broker`: connect as the cloud would and report what the broker allows."""

from __future__ import annotations

import asyncio
import contextlib
import os

from cloud.bridge.mqtt import LinkSettings, MqttLink
from cloud.mqttauth.check import admin_roles
from cloud.mqttauth.control import RESPONSE_TOPIC, BrokerAdminError, DynsecControl
from cloud.mqttauth.roles import CLOUD_ROLE
from cloud.settings import Settings
from shared.broker_url import parse_broker_url

CONNECT_TIMEOUT_S = 10.0


async def check(settings: Settings) -> tuple[bool, list[str]]:
    address = parse_broker_url(settings.mqtt_url)
    control: DynsecControl

    async def on_message(topic: str, payload: bytes) -> None:
        if topic == RESPONSE_TOPIC:
            control.on_response(payload)

    link = MqttLink(
        LinkSettings(
            url=settings.mqtt_url,
            client_id=f"apf-check-{os.getpid()}",
            ca_file=settings.mqtt_ca_file or None,
            clean_session=True,
        ),
        subscriptions=[(RESPONSE_TOPIC, 1)],
        handler=on_message,
    )

    async def publish(topic: str, payload: bytes, qos: int) -> None:
        await link.publish(topic, payload, qos=qos)

    control = DynsecControl(publish)
    task = asyncio.create_task(link.run(), name="check-link")
    try:
        try:
            await link.wait_connected(CONNECT_TIMEOUT_S)
        except TimeoutError:
            return False, [
                f"FAIL: no connection to {address.redacted()} within {CONNECT_TIMEOUT_S:g} s "
                "(the reason is logged above)"
            ]
        try:
            roles = await admin_roles(control, address.username)
        except BrokerAdminError as exc:
            return False, [f"FAIL: {exc}"]
        lines = [f"OK: {address.redacted()} can be administered as {address.username!r}"]
        if CLOUD_ROLE in roles:
            lines.append(f"OK: {address.username!r} holds the role {CLOUD_ROLE}")
        else:
            lines.append(
                f"NOTE: {address.username!r} does not hold the role {CLOUD_ROLE} yet; the cloud "
                "creates and grants it when it starts (the broker then disconnects it once)"
            )
        return True, lines
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
