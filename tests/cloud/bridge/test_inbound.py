"""Classifying agent messages: typed when valid, refused with a reason otherwise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cloud.bridge.inbound import EventIn, Refused, StateIn, StatusIn, classify
from shared import wire
from shared.enums import AgentState, PrinterStatus

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_valid_messages_are_typed_with_their_origin() -> None:
    status = wire.AgentStatus(state=AgentState.ONLINE, session=1, agent_version="x", ts=NOW)
    got = classify(wire.status_topic("org_1", "agt_1"), wire.encode(status))
    assert got == StatusIn("org_1", "agt_1", status)

    state = wire.PrinterState(printer_id="prt_1", status=PrinterStatus.IDLE, connected=True, ts=NOW)
    got = classify(wire.printer_state_topic("org_1", "agt_1", "prt_1"), wire.encode(state))
    assert isinstance(got, StateIn) and got.state == state

    event = wire.JobStartedEvent(event_id="e", seq=1, ts=NOW, printer_id="prt_1", job_id="job_1")
    got = classify(wire.events_topic("org_1", "agt_1"), wire.encode(event))
    assert isinstance(got, EventIn) and got.event == event


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("foo/bar", b"{}", "not an AutoPrintFarm"),
        ("apf/o/agents/a/status", b"", "cleared"),
        ("apf/o/agents/a/status", b"{not json", "invalid status payload"),
        ("apf/o/agents/a/events", b'{"type":"job.exploded"}', "invalid event payload"),
        ("apf/o/agents/a/commands", b"{}", "the cloud publishes"),
        (
            "apf/o/agents/a/printers/p1/state",
            b'{"printer_id":"p2","status":"idle","connected":true,"ts":"2026-01-01T00:00:00Z"}',
            "names printer",
        ),
    ],
)
def test_bad_messages_are_refused_with_a_reason(topic: str, payload: bytes, reason: str) -> None:
    got = classify(topic, payload)
    assert isinstance(got, Refused)
    assert reason in got.reason
