"""Keeps the broker's retained Home Assistant discovery configs equal to the database.

The broker is the memory: the cloud subscribes to the discovery topics, so it receives every
config it wrote earlier (retained, at each subscription) and its own publishes (echoed).
A pass compares that with what the database wants (the printers of every organization that
turned Home Assistant on) and publishes the difference: new or changed configs, and an empty
retained payload for every config no printer wants any more (a printer deleted, moved off
its agent, or its organization turned the feature off), also for what changed while the cloud
was down. Removal waits `SETTLE_S` after connecting, so the retained configs have arrived
before any is judged unwanted.

Home Assistant's birth message (`homeassistant/status` = `online`) forces the next pass to
publish every config again, at most once per `BIRTH_MIN_INTERVAL_S`: any organization's
Home Assistant login may send it, and it costs one publish per entity.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from cloud.context import CloudContext
from cloud.db.core import table_of
from cloud.db.models import Organization, Printer
from cloud.homeassistant.discovery import (
    BIRTH_ONLINE,
    PrinterInfo,
    entity_configs,
    org_of_config_topic,
)

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes], Awaitable[None]]  # retained, QoS 1

SETTLE_S = 2.0
PASS_DEBOUNCE_S = 0.2
# Passes run on pokes (a printer or organization changed) and at least this often.
PASS_INTERVAL_S = 30.0
BIRTH_MIN_INTERVAL_S = 5.0


async def enabled_printers(app: CloudContext) -> list[PrinterInfo]:
    """Every printer on an agent, of every organization with Home Assistant on."""
    p, o = table_of(Printer).c, table_of(Organization).c
    stmt = (
        select(p.id, p.org_id, p.agent_id, p.name, p.model, p.firmware)
        .join(table_of(Organization), o.id == p.org_id)
        .where(o.home_assistant_enabled.is_(True), p.agent_id.is_not(None))
        .order_by(p.org_id, p.id)
    )
    async with app.background()() as session:
        rows = (await session.execute(stmt)).all()
    return [
        PrinterInfo(
            org_id=row.org_id,
            agent_id=row.agent_id,
            printer_id=row.id,
            name=row.name,
            model=row.model,
            firmware=row.firmware,
        )
        for row in rows
    ]


class DiscoveryPublisher:
    def __init__(
        self,
        app: CloudContext,
        publish: Publish,
        *,
        link_up: Callable[[], bool],
        settle_s: float = SETTLE_S,
    ) -> None:
        self._app = app
        self._publish = publish
        self._link_up = link_up
        self._settle_s = settle_s
        # Our configs as the broker holds them: topic -> payload.
        self._on_broker: dict[str, bytes] = {}
        self._poked = asyncio.Event()
        self._force = False
        self._forced_at = float("-inf")
        self._settled_at = float("inf")

    def poke(self) -> None:
        self._poked.set()

    def connected(self) -> None:
        """After every (re)connect: the subscriptions deliver the retained configs again."""
        self._on_broker.clear()
        self._settled_at = asyncio.get_running_loop().time() + self._settle_s
        self._force = True
        self.poke()

    def on_config(self, topic: str, payload: bytes) -> None:
        if org_of_config_topic(topic) is None:
            return  # someone else's discovery config
        if payload:
            self._on_broker[topic] = payload
        else:
            self._on_broker.pop(topic, None)

    def on_birth(self, payload: bytes) -> None:
        if payload.strip() == BIRTH_ONLINE:
            log.info("Home Assistant came online: republishing the discovery configs")
            self._force = True
            self.poke()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            wait_s = PASS_INTERVAL_S
            if self._settled_at > loop.time():
                wait_s = min(wait_s, self._settled_at - loop.time())
            if self._force:
                wait_s = min(wait_s, self._forced_at + BIRTH_MIN_INTERVAL_S - loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), max(wait_s, 0.0))
            await asyncio.sleep(PASS_DEBOUNCE_S)  # let a burst of pokes become one pass
            self._poked.clear()
            if not self._link_up():
                continue
            try:
                await self.run_once()
            except Exception:
                # A database or broker hiccup: the next poke or the interval tries again.
                log.exception("Home Assistant discovery pass failed")

    async def run_once(self) -> None:
        loop = asyncio.get_running_loop()
        force = self._force and loop.time() - self._forced_at >= BIRTH_MIN_INTERVAL_S
        wanted: dict[str, bytes] = {}
        for printer in await enabled_printers(self._app):
            wanted.update(entity_configs(printer))
        if force:
            self._force = False
            self._forced_at = loop.time()
        sent = 0
        for topic, payload in wanted.items():
            if force or self._on_broker.get(topic) != payload:
                await self._publish(topic, payload)
                self._on_broker[topic] = payload
                sent += 1
        removed = 0
        if loop.time() >= self._settled_at:
            for topic in [t for t in self._on_broker if t not in wanted]:
                await self._publish(topic, b"")
                self._on_broker.pop(topic, None)  # its echo may have come first
                removed += 1
        if sent or removed:
            log.info("Home Assistant discovery: %d configs published, %d removed", sent, removed)
