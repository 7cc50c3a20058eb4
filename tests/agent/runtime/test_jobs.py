"""Job bookkeeping: every job's events exactly once, also across restarts and re-attach."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from agent.config import MqttSettings, broker_endpoint
from agent.drivers.base import JobProgress
from agent.drivers.memory import StoredJobMemory
from agent.drivers.moonraker import MoonrakerJob
from agent.drivers.octoprint import JobRecord as OctoJobRecord
from agent.runtime.jobs import AGENT_RESTARTED, JobBook
from agent.runtime.ledger import JobRecord, Ledger
from agent.runtime.reporter import Reporter
from agent.sync.mqtt import MqttLink
from agent.sync.outbox import Outbox
from agent.sync.store import Store
from shared.wire import Event, JobFailedEvent, decode_event


@asynccontextmanager
async def book(path: Path) -> AsyncIterator[tuple[JobBook, Outbox, Store]]:
    async with Store(path) as store:
        outbox = Outbox(store, events_topic="t/events", max_rows=1000)
        # A link that is never started: events only go to the outbox here.
        link = MqttLink(
            broker_endpoint(MqttSettings(url="mqtt://127.0.0.1:9")),
            client_id="agt",
            status_topic="t/status",
            subscriptions=[],
            next_session=lambda: store.next_counter("s"),
            status_payload=lambda online, session: b"",
            on_message=lambda topic, payload: _noop(),
            on_connected=lambda session: None,
        )
        reporter = Reporter(
            link=link, outbox=outbox, org_id="o", agent_id="a", offline_telemetry_interval_s=60
        )
        yield JobBook(Ledger(store), reporter), outbox, store


async def _noop() -> None:
    return None


async def events(outbox: Outbox) -> list[Event]:
    return [decode_event(row.payload) for row in await outbox.peek(1000)]


def tags(evts: list[Event]) -> list[str]:
    return [str(type(e).__struct_config__.tag) for e in evts]


def record(kind: str, job_id: str = "job_1") -> JobRecord:
    return JobRecord("prt_1", job_id, kind, time.time() - 60, 1000.0, {})


async def test_an_octoprint_job_survives_a_restart_and_is_reported_once(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    async with book(db) as (jobs, outbox, _):
        await jobs.begin(record("octoprint"))
        await jobs.started("prt_1", "job_1")
    async with book(db) as (jobs, outbox, _):
        failed = await jobs.recover_after_restart(lambda r: r.driver_kind == "octoprint")
        assert failed == []
        # The driver re-attaches and says "started" again, then the end, twice.
        await jobs.started("prt_1", "job_1")
        await jobs.completed("prt_1", "job_1", 3600.0)
        await jobs.completed("prt_1", "job_1", 3600.0)
        await jobs.failed("prt_1", "job_1", "late", 50.0, 1.0)
        evts = await events(outbox)
        assert tags(evts) == ["job.started", "job.completed"]
        assert [e.seq for e in evts] == [1, 2]
        assert await jobs.current("prt_1") is None


async def test_a_serial_job_is_failed_once_on_restart_with_its_last_progress(
    tmp_path: Path,
) -> None:
    db = tmp_path / "a.db"
    async with book(db) as (jobs, _, _):
        await jobs.begin(record("serial"))
        await jobs.started("prt_1", "job_1")
        await jobs.note_progress("prt_1", JobProgress("job_1", 42.0, 100.0, None))
    for _ in range(2):  # a second restart finds nothing left to report
        async with book(db) as (jobs, _, _):
            await jobs.recover_after_restart(lambda r: r.driver_kind == "octoprint")
    async with book(db) as (_, outbox, _):
        evts = await events(outbox)
    assert tags(evts) == ["job.started", "job.failed"]
    failed = evts[1]
    assert isinstance(failed, JobFailedEvent)
    assert failed.reason == AGENT_RESTARTED
    assert failed.progress == 42.0
    assert failed.filament_used_mm == 420.0  # 42 % of the 1000 mm estimate
    assert failed.duration_s >= 60


async def test_a_job_that_could_not_start_is_forgotten_or_failed(tmp_path: Path) -> None:
    async with book(tmp_path / "a.db") as (jobs, outbox, _):
        await jobs.begin(record("serial", "job_a"))
        await jobs.abandon("prt_1", "job_a", "could not start: port closed")
        assert await jobs.current("prt_1") is None
        assert await events(outbox) == []
        await jobs.begin(record("serial", "job_b"))
        await jobs.started("prt_1", "job_b")
        await jobs.abandon("prt_1", "job_b", "could not start: timeout")
        assert tags(await events(outbox)) == ["job.started", "job.failed"]


async def test_the_octoprint_job_memory_is_durable(tmp_path: Path) -> None:
    saved = OctoJobRecord(job_id="job_1", path="apf/job_1.gcode", prints_before=3, started_at=5.0)
    async with Store(tmp_path / "a.db") as store:
        memory = StoredJobMemory(store, "octoprint_job:prt_1", OctoJobRecord)
        assert await memory.get() is None
        await memory.set(saved)
    async with Store(tmp_path / "a.db") as store:
        memory = StoredJobMemory(store, "octoprint_job:prt_1", OctoJobRecord)
        assert await memory.get() == saved
        assert await StoredJobMemory(store, "octoprint_job:prt_2", OctoJobRecord).get() is None
        await memory.clear()
        assert await memory.get() is None


async def test_a_moonraker_job_memory_is_durable_and_a_damaged_one_reads_as_none(
    tmp_path: Path,
) -> None:
    saved = MoonrakerJob("job_1", "apf-0123456789abcdef.gcode", 5.0, "000012", 3600.0, True)
    async with Store(tmp_path / "a.db") as store:
        memory = StoredJobMemory(store, "moonraker_job:prt_1", MoonrakerJob)
        await memory.set(saved)
    async with Store(tmp_path / "a.db") as store:
        memory = StoredJobMemory(store, "moonraker_job:prt_1", MoonrakerJob)
        assert await memory.get() == saved
        # Written by another version, or damaged: no record, not a driver that cannot start.
        await store.set_meta("moonraker_job:prt_1", '{"job_id": 7}')
        assert await memory.get() is None
