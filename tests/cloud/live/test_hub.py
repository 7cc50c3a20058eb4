"""The fan-out hub alone: no broker, no server."""

from __future__ import annotations

import asyncio
import json

import pytest

from cloud.live.hub import (
    LiveHub,
    LiveItem,
    LiveKind,
    ResyncReason,
    Subscription,
    TooManyStreamsError,
)


def event(n: int) -> LiveItem:
    return LiveItem(LiveKind.EVENT, json.dumps({"kind": "event", "n": n}))


def telemetry(printer_id: str, n: int) -> LiveItem:
    body = json.dumps({"kind": "telemetry", "printer_id": printer_id, "n": n})
    return LiveItem(LiveKind.TELEMETRY, body, key=f"telemetry/{printer_id}")


def state(printer_id: str, n: int) -> LiveItem:
    body = json.dumps({"kind": "state", "printer_id": printer_id, "n": n})
    return LiveItem(LiveKind.STATE, body, key=f"state/{printer_id}")


def drain(subscription: Subscription) -> list[LiveItem]:
    items = []
    while (delivery := subscription.get_nowait()) is not None:
        items.append(delivery.item)
    return items


def numbers(items: list[LiveItem]) -> list[object]:
    return [json.loads(i.json).get("n", i.kind.value) for i in items]


def test_an_item_reaches_every_subscriber_of_its_organization_and_no_other() -> None:
    hub = LiveHub()
    a1, a2, b = hub.subscribe("org_a"), hub.subscribe("org_a"), hub.subscribe("org_b")
    hub.publish("org_a", event(1))
    hub.publish("org_b", event(2))
    hub.publish("org_c", event(3))  # nobody watches: dropped
    assert numbers(drain(a1)) == numbers(drain(a2)) == [1]
    assert numbers(drain(b)) == [2]
    assert (hub.watching("org_a"), hub.watching("org_c")) == (True, False)


def test_deliveries_are_numbered_in_publishing_order() -> None:
    hub = LiveHub()
    sub = hub.subscribe("org_a")
    for n in range(5):
        hub.publish("org_a", event(n))
    seqs = []
    while (delivery := sub.get_nowait()) is not None:
        seqs.append(delivery.seq)
    assert seqs == sorted(seqs) and len(set(seqs)) == 5


def test_a_subscriber_that_falls_behind_is_cleared_and_gets_one_resync() -> None:
    hub = LiveHub(pending_limit=3)
    slow, fast = hub.subscribe("org_a"), hub.subscribe("org_a")
    got_fast = []
    for n in range(1, 11):
        hub.publish("org_a", event(n))
        got_fast += drain(fast)
        if n == 4:
            # The 4th overflowed the slow one: all it holds is the marker...
            assert len(slow) == 1
    # ... and it keeps what came after it, which is newer than the reload it asks for.
    items = drain(slow)
    assert items[0].kind is LiveKind.RESYNC
    assert json.loads(items[0].json) == {"kind": "resync", "reason": "slow"}
    # Overflowed at the 4th and the 8th: one marker, then what came after the last clearing.
    assert numbers(items) == ["resync", 9, 10]
    # The one that kept up saw everything, in order.
    assert numbers(got_fast) == list(range(1, 11))


def test_newer_telemetry_and_states_replace_what_a_slow_reader_has_not_taken() -> None:
    hub = LiveHub(pending_limit=150)
    sub = hub.subscribe("org_a")
    for n in range(1000):  # 1 Hz x 100 printers, for 10 s nobody reads
        hub.publish("org_a", telemetry(f"prt_{n % 100}", n))
    items = drain(sub)
    # One per printer, the newest: never past the limit, so no resync.
    assert numbers(items) == list(range(900, 1000))
    # Superseded items give up their place: the newer one is delivered after what came
    # between, so a state is never overtaken by older telemetry, nor the reverse.
    hub.publish("org_a", telemetry("prt_1", 1))
    hub.publish("org_a", state("prt_1", 2))
    hub.publish("org_a", event(3))
    hub.publish("org_a", telemetry("prt_1", 4))
    hub.publish("org_a", state("prt_2", 5))
    assert numbers(drain(sub)) == [2, 3, 4, 5]


async def test_a_waiting_reader_wakes_for_the_next_item() -> None:
    hub = LiveHub()
    sub = hub.subscribe("org_a")
    waiting = asyncio.create_task(sub.get())
    await asyncio.sleep(0)  # let it start waiting
    assert not waiting.done()
    hub.publish("org_a", event(7))
    delivery = await asyncio.wait_for(waiting, 1)
    assert numbers([delivery.item]) == [7]


def test_resync_all_clears_every_subscriber() -> None:
    hub = LiveHub()
    a, b = hub.subscribe("org_a"), hub.subscribe("org_b")
    hub.publish("org_a", event(1))
    hub.resync_all(ResyncReason.RECONNECTED)
    hub.publish("org_b", event(2))
    assert [json.loads(i.json) for i in drain(a)] == [{"kind": "resync", "reason": "reconnected"}]
    assert [i.kind for i in drain(b)] == [LiveKind.RESYNC, LiveKind.EVENT]


def test_unsubscribing_stops_delivery_and_frees_the_organization() -> None:
    hub = LiveHub()
    with hub.subscribe("org_a") as sub:
        other = hub.subscribe("org_a")
        assert len(hub) == 2
    assert sub.closed and len(hub) == 1
    sub.close()  # twice is harmless
    assert len(hub) == 1
    hub.publish("org_a", event(1))
    assert sub.get_nowait() is None
    other.close()
    assert len(hub) == 0 and not hub.watching("org_a")


def test_an_organization_may_hold_only_so_many_streams() -> None:
    hub = LiveHub(streams_per_org=2)
    first = hub.subscribe("org_a")
    hub.subscribe("org_a")
    with pytest.raises(TooManyStreamsError):
        hub.subscribe("org_a")
    hub.subscribe("org_b")  # another organization is not affected
    first.close()
    hub.subscribe("org_a")
