"""Agent messages, as the bridge classifies them, turned into live items for browsers.

Pure. The payload a browser gets is the wire message itself (shared/wire, docs/mqtt.md),
encoded again from the decoded struct: only the fields this version knows, never raw bytes
an agent sent. Around it, where it came from:

    {"kind": "state", "agent_id": …, "printer_id": …, "data": <PrinterState>}
    {"kind": "telemetry", "agent_id": …, "printer_id": …, "data": <Telemetry>}
    {"kind": "event", "agent_id": …, "printer_id": …, "data": <Event>}
    {"kind": "agent", "agent_id": …, "online": true, "data": <AgentStatus>}
"""

from __future__ import annotations

from typing import Any

import msgspec

from cloud.bridge.inbound import EventIn, Inbound, StateIn, StatusIn, TelemetryIn
from cloud.live.hub import LiveItem, LiveKind
from shared.enums import AgentState

_encoder = msgspec.json.Encoder()


def _item(kind: LiveKind, key: str | None, body: dict[str, Any]) -> LiveItem:
    return LiveItem(kind, _encoder.encode({"kind": kind.value, **body}).decode(), key)


def to_live(message: Inbound) -> LiveItem | None:
    """The item browsers of `message.org_id` get, or None for what they are not sent."""
    match message:
        case StateIn(agent_id=agent, state=state):
            body = {"agent_id": agent, "printer_id": state.printer_id, "data": state}
            return _item(LiveKind.STATE, f"state/{state.printer_id}", body)
        case TelemetryIn(agent_id=agent, telemetry=telemetry):
            pid = telemetry.printer_id
            body = {"agent_id": agent, "printer_id": pid, "data": telemetry}
            return _item(LiveKind.TELEMETRY, f"telemetry/{pid}", body)
        case EventIn(agent_id=agent, event=event):
            body = {"agent_id": agent, "printer_id": event.printer_id, "data": event}
            return _item(LiveKind.EVENT, None, body)  # every event counts: never superseded
        case StatusIn(agent_id=agent, status=status):
            online = status.state is AgentState.ONLINE
            body = {"agent_id": agent, "online": online, "data": status}
            return _item(LiveKind.AGENT, f"agent/{agent}", body)
    return None  # replies: not a dashboard topic


class AgentSessions:
    """Drops a stale Last Will: MQTT allows one Will per connection, so an agent that
    reconnected before the broker noticed its old connection was gone can have that old
    connection's `offline` arrive after its new `online`. `AgentStatus.session` grows by one
    on every connection (docs/mqtt.md, "Delivery guarantees"), so a status of a lower session
    than the last `online` seen is stale. Memory: one integer per agent seen."""

    def __init__(self) -> None:
        self._online: dict[tuple[str, str], int] = {}

    def is_stale(self, message: Inbound) -> bool:
        if not isinstance(message, StatusIn):
            return False
        agent = (message.org_id, message.agent_id)
        status = message.status
        last = self._online.get(agent)
        if last is not None and status.session < last:
            return True
        if status.state is AgentState.ONLINE:
            self._online[agent] = status.session
        return False
