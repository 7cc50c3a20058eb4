"""Agent messages, classified as the bridge does, turned into the items browsers get."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from cloud.bridge.inbound import Refused, classify
from cloud.live.hub import LiveKind
from cloud.live.items import AgentSessions, to_live
from shared import wire
from shared.enums import AgentState, PrinterStatus

TS = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
ORG, AGENT, PRINTER = "org_1", "agt_1", "prt_1"


def status(state: AgentState, session: int) -> tuple[str, bytes]:
    message = wire.AgentStatus(state=state, session=session, agent_version="1.0", ts=TS)
    return wire.status_topic(ORG, AGENT), wire.encode(message)


def test_a_printer_state_carries_the_wire_snapshot_and_where_it_came_from() -> None:
    state = wire.PrinterState(
        printer_id=PRINTER,
        status=PrinterStatus.PRINTING,
        connected=True,
        ts=TS,
        temperatures=wire.Temperatures(hotend=214.8, bed=60.1),
    )
    message = classify(wire.printer_state_topic(ORG, AGENT, PRINTER), wire.encode(state))
    assert not isinstance(message, Refused)
    item = to_live(message)
    assert item is not None
    assert (item.kind, item.key) == (LiveKind.STATE, "state/prt_1")
    body = json.loads(item.json)
    assert {k: body[k] for k in ("kind", "agent_id", "printer_id")} == {
        "kind": "state",
        "agent_id": AGENT,
        "printer_id": PRINTER,
    }
    assert wire.decode_printer_state(json.dumps(body["data"])) == state


def test_telemetry_is_keyed_per_printer_and_events_are_not_keyed() -> None:
    telemetry = wire.Telemetry(printer_id=PRINTER, ts=TS, temperatures=wire.Temperatures(bed=60.0))
    message = classify(wire.telemetry_topic(ORG, AGENT, PRINTER), wire.encode(telemetry))
    assert not isinstance(message, Refused)
    item = to_live(message)
    assert item is not None and (item.kind, item.key) == (LiveKind.TELEMETRY, "telemetry/prt_1")

    done = wire.JobCompletedEvent(
        event_id="01JDX3M2C4T3", seq=42, ts=TS, printer_id=PRINTER, job_id="job_1", duration_s=60.0
    )
    message = classify(wire.events_topic(ORG, AGENT), wire.encode(done))
    assert not isinstance(message, Refused)
    item = to_live(message)
    assert item is not None and (item.kind, item.key) == (LiveKind.EVENT, None)
    body = json.loads(item.json)
    assert (body["printer_id"], body["data"]["type"], body["data"]["seq"]) == (
        PRINTER,
        "job.completed",
        42,
    )


def test_an_agent_status_says_whether_it_is_online() -> None:
    message = classify(*status(AgentState.OFFLINE, 3))
    assert not isinstance(message, Refused)
    item = to_live(message)
    assert item is not None and (item.kind, item.key) == (LiveKind.AGENT, "agent/agt_1")
    body = json.loads(item.json)
    assert (body["agent_id"], body["online"], body["data"]["session"]) == (AGENT, False, 3)


def test_a_stale_will_is_dropped_and_a_current_one_is_not() -> None:
    sessions = AgentSessions()
    online_5, stale_will, own_will = (
        classify(*status(AgentState.ONLINE, 5)),
        classify(*status(AgentState.OFFLINE, 4)),
        classify(*status(AgentState.OFFLINE, 5)),
    )
    assert not isinstance(online_5, Refused)
    assert not isinstance(stale_will, Refused)
    assert not isinstance(own_will, Refused)
    assert sessions.is_stale(stale_will) is False  # nothing seen yet: believed
    assert sessions.is_stale(online_5) is False
    assert sessions.is_stale(stale_will) is True
    assert sessions.is_stale(own_will) is False
