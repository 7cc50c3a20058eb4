"""The per-process fan-out of live items: each open stream subscribes for its organization.

Pure: no sockets, no clock, no broker; the feed publishes, the HTTP streams read. A reader
that cannot keep up (a slow browser, a stalled proxy) must never hold the feed back, so
`publish` never waits: every subscription has a bounded buffer, and one that would overflow
is cleared and given a single `resync` instead (the browser then reloads what it shows).

Most of the traffic is telemetry, about 1 Hz per printer, and states and agent statuses are
full snapshots: of those only the newest matters. Items with a `key` (one per printer and
kind, one per agent) replace the one of the same key still waiting and take its turn at the
end, so a slow reader holds at most one of each, whatever the rate; only events, which are
kept one by one, can fill a buffer. Each item is encoded once, whoever reads it.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

# Items a subscription holds unread (distinct keys plus events) before it is resynced. The
# keyed items of an organization with 100 printers take about 200 of them.
PENDING_LIMIT = 1000
# Open streams per organization in one process: the streams spend no API rate limit
# (docs/dashboard.md), so this is what bounds one key's connections.
STREAMS_PER_ORG = 100


class LiveKind(StrEnum):
    """The SSE event names: the `event:` line of each item."""

    STATE = "state"
    TELEMETRY = "telemetry"
    EVENT = "event"
    AGENT = "agent"
    RESYNC = "resync"


class ResyncReason(StrEnum):
    # The subscription's buffer overflowed: its reader fell behind.
    SLOW = "slow"
    # The feed's connection to the broker was (re)made: what was published while it was
    # down never reached this process.
    RECONNECTED = "reconnected"


@dataclass(frozen=True, slots=True)
class LiveItem:
    kind: LiveKind
    # The `data:` line: a JSON object, encoded once for every reader.
    json: str
    # Items with the same key supersede each other (`printer/state/prt_1`); None: kept.
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    # Increases with every item published in this process: the SSE `id:` line.
    seq: int
    item: LiveItem


class TooManyStreamsError(RuntimeError):
    """The organization already has `STREAMS_PER_ORG` streams open in this process."""


def resync_item(reason: ResyncReason) -> LiveItem:
    return LiveItem(LiveKind.RESYNC, json.dumps({"kind": "resync", "reason": reason.value}))


class Subscription:
    """One reader's buffer. `get` waits for the next delivery; use it as a `with` block (or
    call `close`) so the hub forgets it when the reader goes."""

    def __init__(self, hub: LiveHub, org_id: str, pending_limit: int) -> None:
        self.org_id = org_id
        self._hub = hub
        self._limit = pending_limit
        # Key (or, for an unkeyed item, its own seq) -> delivery, oldest first.
        self._pending: OrderedDict[str | int, Delivery] = OrderedDict()
        self._resync: Delivery | None = None
        self._ready = asyncio.Event()
        self.closed = False

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop receiving; safe to call more than once."""
        if not self.closed:
            self.closed = True
            self._hub._forget(self)

    def __len__(self) -> int:
        """Deliveries waiting, the resync marker included."""
        return len(self._pending) + (self._resync is not None)

    def get_nowait(self) -> Delivery | None:
        if self._resync is not None:
            marker, self._resync = self._resync, None
            return marker
        if not self._pending:
            return None
        return self._pending.popitem(last=False)[1]

    async def get(self) -> Delivery:
        while True:
            delivery = self.get_nowait()
            if delivery is not None:
                return delivery
            # No await between the check and the clear: nothing can be offered in between.
            self._ready.clear()
            await self._ready.wait()

    def _offer(self, delivery: Delivery) -> None:
        key = delivery.item.key
        if key is None:
            self._pending[delivery.seq] = delivery
        else:
            self._pending.pop(key, None)  # the newer one takes the end of the line
            self._pending[key] = delivery
        if len(self._pending) > self._limit:
            self._mark_resync(delivery.seq, ResyncReason.SLOW)
        self._ready.set()

    def _mark_resync(self, seq: int, reason: ResyncReason) -> None:
        """Drop what waits: the reader reloads everything, so none of it is needed. What
        comes after the marker is newer than that reload and is kept."""
        self._pending.clear()
        if self._resync is None:
            self._resync = Delivery(seq, resync_item(reason))
        self._ready.set()


class LiveHub:
    def __init__(
        self, *, pending_limit: int = PENDING_LIMIT, streams_per_org: int = STREAMS_PER_ORG
    ) -> None:
        self._pending_limit = pending_limit
        self._streams_per_org = streams_per_org
        self._orgs: dict[str, set[Subscription]] = {}
        self._count = 0
        self._seq = 0
        # For the feed, which connects to the broker only while someone watches.

    def __len__(self) -> int:
        """Open subscriptions, every organization together."""
        return self._count

    def watching(self, org_id: str) -> bool:
        return org_id in self._orgs

    def subscribe(self, org_id: str) -> Subscription:
        subscribers = self._orgs.get(org_id, set())
        if len(subscribers) >= self._streams_per_org:
            raise TooManyStreamsError(
                f"{len(subscribers)} live streams are open for this organization "
                f"(at most {self._streams_per_org} per process)"
            )
        subscription = Subscription(self, org_id, self._pending_limit)
        subscribers.add(subscription)
        self._orgs[org_id] = subscribers
        self._count += 1
        return subscription

    def publish(self, org_id: str, item: LiveItem) -> None:
        """Offer `item` to the organization's subscriptions; never waits."""
        subscribers = self._orgs.get(org_id)
        if not subscribers:
            return
        self._seq += 1
        delivery = Delivery(self._seq, item)
        for subscription in subscribers:
            subscription._offer(delivery)

    def resync_all(self, reason: ResyncReason) -> None:
        """Every subscription drops what waits and gets a `resync` next."""
        self._seq += 1
        for subscribers in self._orgs.values():
            for subscription in subscribers:
                subscription._mark_resync(self._seq, reason)

    def _forget(self, subscription: Subscription) -> None:
        subscribers = self._orgs.get(subscription.org_id)
        if subscribers is None or subscription not in subscribers:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self._orgs[subscription.org_id]
        self._count -= 1
