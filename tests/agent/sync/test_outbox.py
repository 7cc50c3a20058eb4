from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.sync.outbox import Outbox, OutboxRow, PublishFailed, RowKind, drain
from agent.sync.store import Store
from shared.wire import JobCompletedEvent, PrinterOnlineEvent, decode_event, encode

TS = datetime(2026, 11, 27, tzinfo=UTC)


def online(seq: int, event_id: str) -> PrinterOnlineEvent:
    return PrinterOnlineEvent(event_id=event_id, seq=seq, ts=TS, printer_id="prt_1")


def completed(seq: int, event_id: str) -> JobCompletedEvent:
    return JobCompletedEvent(
        event_id=event_id, seq=seq, ts=TS, printer_id="prt_1", job_id="job_1", duration_s=5.0
    )


async def test_events_get_increasing_seq_that_survives_a_reopen(tmp_path: Path) -> None:
    db = tmp_path / "agent.db"
    async with Store(db) as store:
        outbox = Outbox(store, events_topic="t/events", max_rows=1000)
        first = await outbox.add_event(online, RowKind.EVENT)
        second = await outbox.add_event(completed, RowKind.JOB)
        assert (first.seq, second.seq) == (1, 2)
        assert first.event_id != second.event_id
    async with Store(db) as store:
        outbox = Outbox(store, events_topic="t/events", max_rows=1000)
        rows = await outbox.peek()
        assert [r.seq for r in rows] == [1, 2]
        assert decode_event(rows[1].payload) == second
        third = await outbox.add_event(online, RowKind.EVENT)
        assert third.seq == 3


async def test_the_bound_drops_telemetry_first_then_replies_then_events_never_jobs(
    tmp_path: Path,
) -> None:
    async with Store(tmp_path / "agent.db") as store:
        outbox = Outbox(store, events_topic="t/events", max_rows=100)
        for _ in range(40):
            await outbox.add_event(completed, RowKind.JOB)
        for _ in range(30):
            await outbox.add_event(online, RowKind.EVENT)
        for i in range(20):
            await outbox.add(RowKind.REPLY, "t/replies", f"r{i}".encode())
        for i in range(10):
            await outbox.add(RowKind.TELEMETRY, "t/tel", f"t{i}".encode(), qos=0)
        assert await outbox.count() == 100
        # 5 more job events: five telemetry rows go, the oldest first.
        for _ in range(5):
            await outbox.add_event(completed, RowKind.JOB)
        assert await outbox.count(RowKind.TELEMETRY) == 5
        rows = await outbox.peek(200)
        assert next(r.payload for r in rows if r.kind is RowKind.TELEMETRY) == b"t5"
        # 50 more: telemetry gone, then all 20 replies, then 25 printer events.
        for _ in range(50):
            await outbox.add_event(completed, RowKind.JOB)
        assert await outbox.count(RowKind.TELEMETRY) == 0
        assert await outbox.count(RowKind.REPLY) == 0
        assert await outbox.count(RowKind.EVENT) == 5
        assert await outbox.count(RowKind.JOB) == 95
        # Only job events left to drop: none is dropped, the bound is exceeded instead.
        for _ in range(10):
            await outbox.add_event(completed, RowKind.JOB)
        assert await outbox.count(RowKind.JOB) == 105


async def test_drain_publishes_in_order_and_keeps_everything_after_a_failure(
    tmp_path: Path,
) -> None:
    async with Store(tmp_path / "agent.db") as store:
        outbox = Outbox(store, events_topic="t/events", max_rows=1000)
        for _ in range(6):
            await outbox.add_event(online, RowKind.EVENT)
        sent: list[int] = []

        async def flaky(topic: str, payload: bytes, qos: int) -> None:
            seq = decode_event(payload).seq
            if seq == 4 and 4 not in failed:
                failed.add(4)
                raise PublishFailed("link dropped")
            sent.append(seq)

        failed: set[int] = set()
        with pytest.raises(PublishFailed):
            await drain(outbox, flaky)
        assert sent == [1, 2, 3]
        assert [r.seq for r in await outbox.peek()] == [4, 5, 6]
        assert await drain(outbox, flaky) == 3
        assert sent == [1, 2, 3, 4, 5, 6]
        assert await outbox.peek() == []


async def test_an_extra_write_that_fails_rolls_the_event_back(tmp_path: Path) -> None:
    async with Store(tmp_path / "agent.db") as store:
        outbox = Outbox(store, events_topic="t/events", max_rows=1000)

        async def boom(db: object) -> None:
            raise RuntimeError("constraint")

        with pytest.raises(RuntimeError):
            await outbox.add_event(online, RowKind.EVENT, also=boom)
        assert await outbox.peek() == []
        # The seq was rolled back too: no gap for the cloud to wonder about.
        event = await outbox.add_event(online, RowKind.EVENT)
        assert event.seq == 1
        rows: list[OutboxRow] = await outbox.peek()
        assert rows[0].topic == "t/events" and rows[0].qos == 1


class Recorder:
    """A publish that records the seqs it was given (the broker's PUBACK is its return)."""

    def __init__(self) -> None:
        self.seqs: list[int] = []

    async def __call__(self, topic: str, payload: bytes, qos: int) -> None:
        self.seqs.append(decode_event(payload).seq)


async def test_while_the_cloud_acknowledges_sent_events_stay_until_acked(tmp_path: Path) -> None:
    async with Store(tmp_path / "agent.db") as store:
        outbox = Outbox(store, events_topic="t/events", max_rows=1000)
        outbox.set_keep_until_acked(True)
        for _ in range(5):
            await outbox.add_event(online, RowKind.EVENT)
        await outbox.add(RowKind.REPLY, "t/replies", b"r")
        sent = Recorder()

        async def publish(topic: str, payload: bytes, qos: int) -> None:
            if topic == "t/events":
                await sent(topic, payload, qos)

        assert await drain(outbox, publish) == 6
        assert sent.seqs == [1, 2, 3, 4, 5]
        # The reply went on its PUBACK; the events wait for the cloud, and are not sent again
        # by the next drain.
        assert [r.seq for r in await outbox.peek()] == [1, 2, 3, 4, 5]
        assert await drain(outbox, publish) == 0
        assert await outbox.acknowledge(3, now_s=0.0) == 3
        assert [r.seq for r in await outbox.peek()] == [4, 5]
        # An older (or repeated) acknowledgement changes nothing.
        assert await outbox.acknowledge(2, now_s=0.0) == 0
        assert outbox.acked_seq == 3


async def test_unacknowledged_events_are_sent_again_in_order_after_a_resend(
    tmp_path: Path,
) -> None:
    async with Store(tmp_path / "agent.db") as store:
        outbox = Outbox(store, events_topic="t/events", max_rows=1000)
        outbox.set_keep_until_acked(True)
        for _ in range(3):
            await outbox.add_event(online, RowKind.EVENT)
        sent = Recorder()
        await drain(outbox, sent)
        await outbox.acknowledge(1, now_s=0.0)
        for _ in range(2):
            await outbox.add_event(completed, RowKind.JOB)
        outbox.resend("reconnected")
        assert outbox.added.is_set()
        await drain(outbox, sent)
        # From the oldest unacknowledged one, the new ones after it: never out of order.
        assert sent.seqs == [1, 2, 3, 2, 3, 4, 5]


async def test_a_missing_ack_makes_the_events_go_again_after_a_growing_wait(
    tmp_path: Path,
) -> None:
    async with Store(tmp_path / "agent.db") as store:
        outbox = Outbox(
            store, events_topic="t/events", max_rows=1000, ack_wait_s=5.0, ack_wait_cap_s=12.0
        )
        outbox.set_keep_until_acked(True)
        assert outbox.resend_due_in(0.0) is None  # nothing sent, nothing to wait for
        await outbox.add_event(online, RowKind.EVENT)
        sent = Recorder()
        clock = asyncio.get_running_loop().time

        async def send_and_bracket() -> tuple[float, float]:
            """Drain, returning the clock just before and just after (the wait starts when
            the PUBACK comes, somewhere in between)."""
            before = clock()
            await drain(outbox, sent)
            return before, clock()

        def wait_is(seconds: float, before: float, after: float) -> None:
            due_before, due_after = outbox.resend_due_in(before), outbox.resend_due_in(after)
            assert due_before is not None and due_after is not None
            assert due_after <= seconds <= due_before

        before, after = await send_and_bracket()
        wait_is(5.0, before, after)
        assert not outbox.resend_if_due(before + 4.9)
        assert outbox.resend_if_due(after + 5.0)
        before, after = await send_and_bracket()
        assert sent.seqs == [1, 1]
        wait_is(10.0, before, after)  # doubled
        assert outbox.resend_if_due(after + 10.0)
        before, after = await send_and_bracket()
        wait_is(12.0, before, after)  # and stops at the cap
        # An acknowledgement with nothing left outstanding stops the timer.
        await outbox.acknowledge(1, now_s=after)
        assert outbox.resend_due_in(after) is None


async def test_without_acks_from_the_cloud_events_go_on_their_puback(tmp_path: Path) -> None:
    async with Store(tmp_path / "agent.db") as store:
        outbox = Outbox(store, events_topic="t/events", max_rows=1000)
        assert not outbox.keep_until_acked  # an older cloud: never heard of acks
        for _ in range(3):
            await outbox.add_event(online, RowKind.EVENT)
        await drain(outbox, Recorder())
        assert await outbox.peek() == []
        # The cloud stops acknowledging (downgraded): what was kept goes once more, then goes.
        outbox.set_keep_until_acked(True)
        await outbox.add_event(online, RowKind.EVENT)
        sent = Recorder()
        await drain(outbox, sent)
        assert [r.seq for r in await outbox.peek()] == [4]
        outbox.set_keep_until_acked(False)
        await drain(outbox, sent)
        assert sent.seqs == [4, 4]
        assert await outbox.peek() == []
        assert outbox.resend_due_in(0.0) is None


async def test_an_ack_beyond_what_this_database_numbered_deletes_nothing(tmp_path: Path) -> None:
    async with Store(tmp_path / "agent.db") as store:
        # A wiped database: the cloud remembers 500 events of this agent.
        outbox = Outbox(store, events_topic="t/events", max_rows=1000)
        outbox.set_keep_until_acked(True)
        await outbox.add_event(online, RowKind.EVENT)
        assert await outbox.acknowledge(500, now_s=0.0) == 0
        assert [r.seq for r in await outbox.peek()] == [1]
        # New events follow what the cloud has seen, so its ordering holds for them.
        assert (await outbox.add_event(online, RowKind.EVENT)).seq == 501


async def test_a_database_of_the_previous_version_opens_and_drains(tmp_path: Path) -> None:
    # The outbox table as the previous release created it, with a row still in it.
    path = tmp_path / "agent.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, topic TEXT NOT NULL,
                qos INTEGER NOT NULL, payload BLOB NOT NULL, seq INTEGER,
                created_at REAL NOT NULL
            );
            INSERT INTO meta VALUES ('event_seq', '7');
            """
        )
        db.execute(
            "INSERT INTO outbox (kind, topic, qos, payload, seq, created_at) "
            "VALUES ('event', 't/events', 1, ?, 7, 0)",
            (encode(online(7, "e7")),),
        )
    async with Store(path) as store:
        outbox = Outbox(store, events_topic="t/events", max_rows=1000)
        outbox.set_keep_until_acked(True)
        sent = Recorder()
        await drain(outbox, sent)
        assert sent.seqs == [7]
        assert await outbox.acknowledge(7, now_s=0.0) == 1
        assert (await outbox.add_event(online, RowKind.EVENT)).seq == 8
