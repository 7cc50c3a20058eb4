"""Pure parts of the OctoPrint driver: state mapping, SockJS frames, replies, job outcomes.

Payload strings are as OctoPrint 1.11.8 sent them to this driver (captured from the
virtual printer), so these run without a server.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec
import pytest

from agent.drivers.octoprint.client import (
    OctoPrintAuthError,
    OctoPrintClient,
    OctoPrintConflict,
    OctoPrintRequestError,
    OctoPrintUnavailable,
)
from agent.drivers.octoprint.driver import upload_name
from agent.drivers.octoprint.jobs import JobRecord, logged_outcome
from agent.drivers.octoprint.models import CurrentData, FileInfo, PrinterState, StateFlags
from agent.drivers.octoprint.push import Closed, Heartbeat, Messages, Opened, parse_frame
from agent.drivers.octoprint.replies import ReplyCollector
from agent.drivers.octoprint.state import (
    heaters_in,
    status_from_flags,
    status_from_state,
    status_from_text,
    temperatures_from,
)
from shared.enums import PrinterStatus

S = PrinterStatus


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Operational", S.IDLE),
        ("Printing", S.PRINTING),
        ("Printing from SD", S.PRINTING),
        ("Starting", S.PRINTING),
        ("Pausing", S.PRINTING),
        ("Paused", S.PAUSED),
        ("Resuming", S.PRINTING),
        ("Finishing", S.PRINTING),
        ("Cancelling", S.BUSY),
        ("Connecting", S.BUSY),
        ("Detecting serial connection", S.BUSY),
        ("Sending file to SD", S.BUSY),
        ("Offline", S.OFFLINE),
        ("Closed", S.OFFLINE),
        ("Error", S.ERROR),
        ("Error: Too many consecutive timeouts, printer still connected?", S.ERROR),
        ("Offline after error", S.ERROR),
        ("Unknown State (42)", S.BUSY),
    ],
)
def test_status_from_text(text: str, status: PrinterStatus) -> None:
    assert status_from_text(text) is status


@pytest.mark.parametrize(
    ("flags", "text", "status"),
    [
        (StateFlags(operational=True, ready=True), "Operational", S.IDLE),
        (StateFlags(operational=True, printing=True), "Printing", S.PRINTING),
        (StateFlags(operational=True, printing=True, pausing=True), "Pausing", S.PRINTING),
        (StateFlags(operational=True, paused=True), "Paused", S.PAUSED),
        (StateFlags(operational=True, cancelling=True), "Cancelling", S.BUSY),
        (StateFlags(operational=True, printing=True, finishing=True), "Finishing", S.PRINTING),
        (StateFlags(closed_or_error=True), "Offline", S.OFFLINE),
        (StateFlags(closed_or_error=True, error=True), "Offline after error", S.ERROR),
        (StateFlags(operational=True), "Starting", S.PRINTING),
        (StateFlags(operational=True), "Transferring file to SD", S.BUSY),
    ],
)
def test_status_from_flags(flags: StateFlags, text: str, status: PrinterStatus) -> None:
    assert status_from_flags(flags, text) is status


CURRENT = (
    '{"state":{"text":"Printing","flags":{"operational":true,"printing":true,'
    '"cancelling":false,"pausing":false,"resuming":false,"finishing":false,'
    '"closedOrError":false,"error":false,"paused":false,"ready":false,"sdReady":true},'
    '"error":""},"job":{"file":{"name":"cube.gcode","path":"apf-j1-cube.gcode","size":4711,'
    '"origin":"local","date":1795760202},"estimatedPrintTime":12.5,"lastPrintTime":null,'
    '"filament":{"length":null,"volume":null},"user":"apf"},"currentZ":0.3,"progress":'
    '{"completion":42.5,"filepos":2002,"printTime":5,"printTimeLeft":7,'
    '"printTimeLeftOrigin":"estimate"},"offsets":{},"resends":{"count":0,"transmitted":8,'
    '"ratio":0},"serverTime":1795760202.28,"temps":[{"time":1795760202,"tool0":{"actual":'
    '21.3,"target":0.0},"bed":{"actual":21.3,"target":0.0},"chamber":{"actual":null,'
    '"target":null}},{"time":1795760203,"tool0":{"actual":35.5,"target":200.0},"tool1":'
    '{"actual":22.0,"target":0.0},"bed":{"actual":25.1,"target":60.0},"chamber":{"actual":'
    'null,"target":null}}],"busyFiles":[],"markings":[],"logs":["Recv: ok"],"messages":[]}'
)


def test_current_message_decodes_to_status_progress_and_temperatures() -> None:
    data = msgspec.json.decode(CURRENT, type=CurrentData)
    assert status_from_state(data.state) is S.PRINTING
    assert data.job.file.path == "apf-j1-cube.gcode" and data.job.file.size == 4711
    assert data.progress.completion == 42.5 and data.progress.print_time_left == 7
    temps = temperatures_from(data.temps[-1])
    assert (temps.hotend_c, temps.hotend_target_c) == (35.5, 200.0)
    assert (temps.bed_c, temps.bed_target_c) == (25.1, 60.0)
    assert temps.chamber_c is None
    assert temps.extra_tools == {"T1": (22.0, 0.0)}
    assert heaters_in(data.temps[-1]) == ["tool0", "tool1", "bed"]


def test_state_without_flags_uses_text() -> None:
    assert status_from_state(PrinterState(text="Paused")) is S.PAUSED


def test_sockjs_frames() -> None:
    assert parse_frame("h" * 2048) is None
    assert parse_frame("o") == Opened()
    assert parse_frame("h") == Heartbeat()
    assert parse_frame('c[3000,"Go away!"]') == Closed(3000, "Go away!")
    # OctoPrint sends objects; standard SockJS sends strings holding JSON. Both decode.
    assert parse_frame('a[{"event":{"type":"PrintDone"}}]') == Messages(
        [{"event": {"type": "PrintDone"}}]
    )
    assert parse_frame('a["{\\"current\\":{}}"]') == Messages([{"current": {}}])


def test_reply_collector_starts_at_our_command_and_ends_at_the_last_ok() -> None:
    collector = ReplyCollector(["G90", "M114"])
    for line in [
        "Send: G28",  # someone else's, before ours
        "Recv: ok",
        "Send: N12 G90*18",
        "Recv: ok",
        "Send: M114",
        "Recv: T:21.30/ 0.00 B:21.30/ 0.00 @:64",
        "Recv: ok X:0.0 Y:0.0 Z:0.0 E:0.0 Count: A:0 B:0 C:0",
        "Send: M105",
        "Recv: ok",
    ]:
        collector.feed(line)
    assert collector.done.is_set()
    assert collector.replies == [
        "ok",
        "T:21.30/ 0.00 B:21.30/ 0.00 @:64",
        "ok X:0.0 Y:0.0 Z:0.0 E:0.0 Count: A:0 B:0 C:0",
    ]


def _info(success: int, failure: int, last_success: bool | None) -> FileInfo:
    last = (
        None
        if last_success is None
        else {"date": 1795760300.0, "success": last_success, "printTime": 12.5}
    )
    raw = {
        "name": "a.gcode",
        "path": "a.gcode",
        "prints": {"success": success, "failure": failure, "last": last},
    }
    return msgspec.convert(raw, FileInfo)


def test_logged_outcome_counts_prints_after_the_job_started() -> None:
    record = JobRecord("j1", "a.gcode", prints_before=1, started_at=0.0)
    assert logged_outcome(record, None) is None
    assert logged_outcome(record, _info(1, 0, True)) is None  # only the earlier print
    done = logged_outcome(record, _info(2, 0, True))
    assert done is not None and done.success and done.print_time_s == 12.5
    failed = logged_outcome(record, _info(1, 1, False))
    assert failed is not None and not failed.success


def test_upload_name_is_unique_per_job_and_safe() -> None:
    assert upload_name("job 1/../x", Path("/tmp/My Cube.gcode")) == "apf-job_1_.._x-My_Cube.gcode"


@pytest.mark.parametrize(
    ("status_code", "error"),
    [
        (403, OctoPrintAuthError),
        (409, OctoPrintConflict),
        (400, OctoPrintRequestError),
        (500, OctoPrintUnavailable),
        (503, OctoPrintUnavailable),
    ],
)
async def test_client_maps_http_errors(status_code: int, error: type[Exception]) -> None:
    # A mock for answers a healthy OctoPrint does not give on demand (5xx) and to pin the
    # mapping of each; the real server covers 403 and 409 in the live tests.
    transport = httpx.MockTransport(
        lambda request: httpx.Response(status_code, json={"error": "nope"})
    )
    async with OctoPrintClient("http://127.0.0.1:9", "key", transport=transport) as client:
        with pytest.raises(error):
            await client.job()


async def test_client_maps_connection_refused_to_unavailable() -> None:
    async with OctoPrintClient("http://127.0.0.1:9", "key", timeout_s=2.0) as client:
        with pytest.raises(OctoPrintUnavailable, match="unreachable"):
            await client.version()
