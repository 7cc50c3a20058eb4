"""`JobTracker` on reports that cross the end of our job (no OctoPrint needed: the race is in
the order reports arrive, which a live server produces only now and then)."""

from __future__ import annotations

import time
from typing import Any, cast

import httpx

from agent.drivers.base import DriverEvent, ForeignJobSeen, JobCompleted
from agent.drivers.memory import InMemoryJobMemory
from agent.drivers.octoprint.client import OctoPrintClient
from agent.drivers.octoprint.jobs import JobRecord
from agent.drivers.octoprint.models import (
    FileRef,
    JobInfo,
    PrinterState,
    ProgressInfo,
    PushEvent,
    StateFlags,
)
from agent.drivers.octoprint.tracker import JobTracker

PATH = "apf-job-1-cube.gcode"
# No OctoPrint is asked anything on these paths (uploads are kept, no record is open).
NO_CLIENT = cast(OctoPrintClient, None)


def _tracker(events: list[DriverEvent], grace_s: float) -> JobTracker:
    def publish(*_args: Any) -> None:
        return None

    return JobTracker(
        InMemoryJobMemory[JobRecord](),
        events.append,
        publish,
        end_grace_s=grace_s,
        delete_finished_uploads=False,
    )


PRINTING = PrinterState(text="Printing", flags=StateFlags(operational=True, printing=True))
OURS = JobInfo(file=FileRef(name="cube.gcode", path=PATH, size=1000, origin="local"))


async def test_a_report_older_than_our_jobs_end_is_not_a_foreign_print() -> None:
    events: list[DriverEvent] = []
    tracker = _tracker(events, grace_s=5.0)
    await tracker.begin(JobRecord("job-1", PATH, 0, time.time()))
    await tracker.on_event(NO_CLIENT, PushEvent(type="PrintDone", payload={"path": PATH}))
    # A `current` message sent before PrintDone, handled after it: still "Printing" our file.
    await tracker.observe(NO_CLIENT, PRINTING, OURS, ProgressInfo(completion=99.0))
    assert [type(e) for e in events] == [JobCompleted]


async def test_the_same_file_printing_again_later_is_a_foreign_print() -> None:
    events: list[DriverEvent] = []
    tracker = _tracker(events, grace_s=0.0)  # the window for late reports is over at once
    await tracker.begin(JobRecord("job-1", PATH, 0, time.time()))
    await tracker.on_event(NO_CLIENT, PushEvent(type="PrintDone", payload={"path": PATH}))
    await tracker.observe(NO_CLIENT, PRINTING, OURS, ProgressInfo(completion=3.0))
    assert [type(e) for e in events] == [JobCompleted, ForeignJobSeen]


async def test_an_upload_octoprint_still_uses_is_removed_once_the_printer_is_idle() -> None:
    # OctoPrint answers 409 to a DELETE while the file is still the one it prints, which it
    # can be for a moment after PrintDone; the removal is tried again on an idle report.
    in_use = True
    deletes: list[str] = []

    def octoprint(request: httpx.Request) -> httpx.Response:
        assert request.method == "DELETE"
        deletes.append(request.url.path)
        if in_use:
            return httpx.Response(409, json={"error": "Trying to delete a file that is in use"})
        return httpx.Response(204)

    events: list[DriverEvent] = []
    tracker = JobTracker(
        InMemoryJobMemory[JobRecord](),
        events.append,
        lambda *_args: None,
        end_grace_s=5.0,
        delete_finished_uploads=True,
    )
    async with OctoPrintClient(
        "http://octoprint.test", "key", transport=httpx.MockTransport(octoprint)
    ) as client:
        await tracker.begin(JobRecord("job-1", PATH, 0, time.time()))
        await tracker.on_event(client, PushEvent(type="PrintDone", payload={"path": PATH}))
        assert [type(e) for e in events] == [JobCompleted]
        assert deletes == [f"/api/files/local/{PATH}"]
        # Still printing our file (a report from before the end): no second try yet.
        await tracker.observe(client, PRINTING, OURS, ProgressInfo(completion=100.0))
        assert len(deletes) == 1
        in_use = False
        await tracker.observe(client, OPERATIONAL, JobInfo(), ProgressInfo())
        await tracker.observe(client, OPERATIONAL, JobInfo(), ProgressInfo())
    assert deletes == [f"/api/files/local/{PATH}"] * 2  # removed once, then left alone
    assert [type(e) for e in events] == [JobCompleted]


OPERATIONAL = PrinterState(text="Operational", flags=StateFlags(operational=True))
