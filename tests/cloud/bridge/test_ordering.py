"""Putting each agent's events back in sequence order, with a bounded wait for a gap."""

from __future__ import annotations

from datetime import UTC, datetime

from cloud.bridge.inbound import EventIn
from cloud.bridge.ordering import EventOrder
from shared.wire import JobStartedEvent

T = datetime(2026, 1, 1, tzinfo=UTC)


def ev(seq: int, agent: str = "agt_1") -> EventIn:
    event = JobStartedEvent(event_id=f"e{seq}", seq=seq, ts=T, printer_id="p", job_id="j")
    return EventIn("org_1", agent, event)


def seqs(items: list[EventIn]) -> list[int]:
    return [i.event.seq for i in items]


def apply_all(order: EventOrder, items: list[EventIn]) -> list[int]:
    for item in items:
        order.applied(item)
    return seqs(items)


def test_in_order_events_pass_straight_through() -> None:
    order = EventOrder()
    order.learn("agt_1", 4)
    assert apply_all(order, order.offer(ev(5), 0.0)) == [5]
    assert apply_all(order, order.offer(ev(6), 0.0)) == [6]


def test_an_early_event_waits_for_the_missing_one_then_both_go_in_order() -> None:
    order = EventOrder()
    order.learn("agt_1", 4)
    assert order.offer(ev(6), 0.0) == []
    assert order.offer(ev(7), 0.1) == []
    assert apply_all(order, order.offer(ev(5), 0.2)) == [5, 6, 7]
    assert order.held_count() == 0


def test_a_gap_that_never_fills_is_passed_after_the_hold() -> None:
    order = EventOrder(hold_s=2.0)
    order.learn("agt_1", 4)
    assert order.offer(ev(6), 0.0) == []
    assert order.expired(1.9) == []
    assert apply_all(order, order.expired(2.0)) == [6]


def test_duplicates_never_wait() -> None:
    order = EventOrder()
    order.learn("agt_1", 10)
    assert seqs(order.offer(ev(3), 0.0)) == [3]  # an old redelivery: dedup happens downstream


def test_an_agent_with_nothing_applied_yet_starts_at_one() -> None:
    # Another replica may be applying event 1 right now: 2 waits for it like any gap.
    order = EventOrder(hold_s=10.0)
    order.learn("agt_2", 0)
    assert order.offer(ev(2, "agt_2"), 0.0) == []
    order.learn("agt_2", 1)  # the database says the other replica applied 1
    assert seqs(order.expired(0.05)) == [2]
    # One whose first events the cloud will never get waits one hold, then goes on.
    restored = EventOrder(hold_s=10.0)
    restored.learn("agt_3", 0)
    assert restored.offer(ev(57, "agt_3"), 0.0) == []
    assert seqs(restored.expired(10.0)) == [57]


def test_agents_are_independent() -> None:
    order = EventOrder()
    order.learn("agt_1", 1)
    order.learn("agt_2", 1)
    assert order.offer(ev(3, "agt_1"), 0.0) == []
    assert seqs(order.offer(ev(2, "agt_2"), 0.0)) == [2]


def test_a_re_sent_copy_of_a_held_event_keeps_the_first_wait() -> None:
    order = EventOrder(hold_s=2.0)
    order.learn("agt_1", 1)
    assert order.offer(ev(3), now_s=10.0) == []
    assert order.oldest_wait_s("agt_1", 10.5) == 0.5
    # The agent re-sends 3 (it was asked to, while 2 is missing): the hold is not extended.
    assert order.offer(ev(3), now_s=11.0) == []
    assert order.oldest_wait_s("agt_1", 11.5) == 1.5
    assert seqs(order.expired(12.0)) == [3]
    assert order.oldest_wait_s("agt_1", 12.0) == 0.0
