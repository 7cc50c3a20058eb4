from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.sync.outbox import Outbox, OutboxRow, PublishFailed, RowKind, drain
from agent.sync.store import Store
from shared.wire import JobCompletedEvent, PrinterOnlineEvent, decode_event

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
