"""Helpers for the agent's end-to-end tests: G-code jobs served over HTTP, job commands."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from shared.wire import Event, JobCompletedEvent, StartJob
from tests.agent.runtime.cloud import CloudStandIn, now
from tests.agent.runtime.files_server import FileServer


def gcode_lines(count: int, tag: int = 0) -> list[str]:
    """Moves that are all different (E grows), so order and duplicates are visible."""
    return [
        f"G1 X{(i + tag) % 200} Y{(i * 7) % 200} E{i * 0.01:.2f} F3000" for i in range(1, count + 1)
    ]


def gcode_bytes(lines: list[str]) -> bytes:
    return ("\n".join(["; test job", "G90", "M82", *lines]) + "\n").encode()


def start_job(
    server: FileServer, command_id: str, printer_id: str, job_id: str, data: bytes
) -> StartJob:
    path = f"/files/{job_id}.gcode"
    server.files[path] = data
    issued = now()
    return StartJob(
        command_id=command_id,
        printer_id=printer_id,
        issued_at=issued,
        expires_at=issued + timedelta(minutes=10),
        job_id=job_id,
        file_url=server.url(path),
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
    )


def moves(executed: list[str]) -> list[str]:
    return [line for line in executed if line.startswith("G1 ")]


def of_type(events: list[Event], tag: str) -> list[Event]:
    return [e for e in events if type(e).__struct_config__.tag == tag]


def completed_jobs(cloud: CloudStandIn) -> set[str]:
    return {e.job_id for e in cloud.unique_events() if isinstance(e, JobCompletedEvent)}


def assert_exactly_once_in_order(cloud: CloudStandIn) -> list[Event]:
    """After dedup by event_id: seq 1, 2, 3, … in arrival order, no gap."""
    unique = cloud.unique_events()
    seqs = [e.seq for e in unique]
    assert seqs == list(range(1, len(unique) + 1)), f"seq order/gap: {seqs}"
    # The same event_id always carried the same event.
    by_id: dict[str, Event] = {}
    for event in cloud.events():
        assert by_id.setdefault(event.event_id, event) == event
    return unique
