"""`JobTracker` on scripted Klipper reports: the orders and gaps a live stack produces only
now and then (a reprint's old "complete", a reset to standby, a missed end)."""

from __future__ import annotations

import time
from typing import Any

from agent.drivers.base import (
    DriverEvent,
    ForeignJobSeen,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobPaused,
    JobProgress,
    JobResumed,
)
from agent.drivers.memory import InMemoryJobMemory
from agent.drivers.moonraker.state import observe
from agent.drivers.moonraker.tracker import JobTracker, MoonrakerJob
from shared.enums import PrinterStatus

FILE = "apf-0123456789abcdef.gcode"


class Harness:
    def __init__(
        self, *, grace_s: float = 5.0, history: dict[str, dict[str, Any]] | None = None
    ) -> None:
        self.events: list[DriverEvent] = []
        self.published: list[tuple[PrinterStatus, str | None, JobProgress | None]] = []
        self.memory = InMemoryJobMemory[MoonrakerJob]()
        self.history = history or {}
        self.tracker = self.make(grace_s)

    def make(self, grace_s: float) -> JobTracker:
        async def history_entry(history_id: str) -> dict[str, Any] | None:
            return self.history.get(history_id)

        def publish(status: PrinterStatus, message: str | None, job: JobProgress | None) -> None:
            self.published.append((status, message, job))

        return JobTracker(
            self.memory, self.events.append, publish, history_entry, end_grace_s=grace_s
        )

    async def klipper(
        self, state: str, filename: str = FILE, klippy: str = "ready", **stats: Any
    ) -> None:
        status = {
            "webhooks": {"state": klippy, "state_message": stats.pop("klippy_message", "")},
            "print_stats": {"state": state, "filename": filename, **stats},
            "virtual_sdcard": {"progress": stats.get("progress", 0.5)},
        }
        await self.tracker.observe(observe(klippy, status))

    def kinds(self) -> list[type]:
        return [type(e) for e in self.events]


def job(history_id: str | None = None, cancel: bool = False) -> MoonrakerJob:
    return MoonrakerJob("job_1", FILE, time.time(), history_id, None, cancel)


async def test_a_print_from_start_to_complete_with_a_pause() -> None:
    h = Harness()
    await h.tracker.begin(job())
    await h.klipper("printing")
    await h.klipper("paused")
    await h.klipper("printing")
    await h.klipper("complete", total_duration=42.0)
    assert h.kinds() == [JobPaused, JobResumed, JobCompleted]
    assert h.events[-1] == JobCompleted("job_1", duration_s=42.0)
    assert await h.memory.get() is None
    assert h.published[-1][0] is PrinterStatus.IDLE


async def test_a_reprints_old_complete_is_not_its_end() -> None:
    h = Harness()
    # Klipper still shows the last print of the same file (our names are by content).
    await h.tracker.begin(job())
    await h.klipper("complete")
    assert h.events == [] and h.published[-1][0] is PrinterStatus.PRINTING
    await h.klipper("printing")
    await h.klipper("complete", total_duration=9.0)
    assert h.kinds() == [JobCompleted]


async def test_after_a_restart_the_record_is_ours_not_a_foreign_print() -> None:
    h = Harness()
    await h.memory.set(job())
    h.tracker = h.make(grace_s=5.0)  # a new driver instance
    await h.tracker.load()
    await h.klipper("printing")
    assert not [e for e in h.events if isinstance(e, ForeignJobSeen)]
    assert h.published[-1][0] is PrinterStatus.PRINTING
    assert h.published[-1][2] is not None and h.published[-1][2].job_id == "job_1"


async def test_a_cancel_macro_that_resets_to_standby_is_a_cancel_by_the_history() -> None:
    h = Harness(grace_s=0.0, history={"0007": {"status": "cancelled", "total_duration": 30.0}})
    await h.tracker.begin(job(history_id="0007", cancel=True))
    await h.klipper("printing")
    await h.klipper("standby", filename="")
    assert h.events == [JobCancelled("job_1", progress_pct=50.0, duration_s=30.0)]


async def test_a_klippy_restart_mid_print_fails_the_job_with_the_historys_reason() -> None:
    h = Harness(grace_s=0.0, history={"0008": {"status": "klippy_shutdown"}})
    await h.tracker.begin(job(history_id="0008"))
    await h.klipper("printing")
    await h.klipper("standby", filename="")
    assert h.kinds() == [JobFailed]
    failed = h.events[0]
    assert isinstance(failed, JobFailed) and failed.reason == "Klipper shut down mid-print"


async def test_no_history_and_no_print_ends_the_job_as_unknown_after_the_grace() -> None:
    h = Harness(grace_s=0.0)
    await h.tracker.begin(job())
    await h.klipper("printing")
    await h.klipper("standby", filename="")
    failed = h.events[0]
    assert isinstance(failed, JobFailed)
    assert failed.reason == "the print stopped on the printer without a recorded result"


async def test_a_history_entry_still_in_progress_waits_for_the_grace() -> None:
    h = Harness(grace_s=60.0, history={"0009": {"status": "in_progress"}})
    await h.tracker.begin(job(history_id="0009"))
    await h.klipper("printing")
    await h.klipper("standby", filename="")
    assert h.events == [] and h.tracker.job is not None


async def test_a_shutdown_fails_our_job_with_klippers_first_line() -> None:
    h = Harness()
    await h.tracker.begin(job())
    await h.klipper("printing")
    await h.klipper(
        "printing", klippy="shutdown", klippy_message="MCU 'mcu' shutdown: Timer too close\nmore"
    )
    failed = h.events[0]
    assert isinstance(failed, JobFailed)
    assert failed.reason == "Klipper: MCU 'mcu' shutdown: Timer too close"
    assert h.published[-1][:2] == (
        PrinterStatus.ERROR,
        "Klipper shut down: MCU 'mcu' shutdown: Timer too close",
    )


async def test_moonraker_without_klippy_keeps_the_job_and_says_offline() -> None:
    h = Harness(grace_s=0.0)
    await h.tracker.begin(job())
    await h.klipper("printing")
    await h.klipper("printing", klippy="disconnected")
    assert h.events == [] and h.tracker.job is not None
    assert h.published[-1][0] is PrinterStatus.OFFLINE


async def test_a_foreign_print_is_said_once_and_is_busy() -> None:
    h = Harness()
    for _ in range(3):
        await h.klipper("printing", filename="benchy.gcode")
    assert h.events == [ForeignJobSeen(name="benchy.gcode")]
    status, message, _ = h.published[-1]
    assert status is PrinterStatus.BUSY and message is not None and "benchy.gcode" in message
    await h.klipper("complete", filename="benchy.gcode")
    assert h.published[-1][0] is PrinterStatus.IDLE and h.tracker.foreign_file is None
