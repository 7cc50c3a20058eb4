"""Turn one MQTT message from an agent into a typed, validated item, or refuse it.

Pure: no database, no broker. The bridge's consumer calls `classify` on every message; a
`Refused` result is logged and skipped, so no payload can stop the consumer.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared import wire
from shared.wire import AgentStatus, CommandReply, Event, PrinterState, Telemetry, TopicKind


@dataclass(frozen=True, slots=True)
class FromAgent:
    org_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class StatusIn(FromAgent):
    status: AgentStatus


@dataclass(frozen=True, slots=True)
class StateIn(FromAgent):
    state: PrinterState


@dataclass(frozen=True, slots=True)
class TelemetryIn(FromAgent):
    telemetry: Telemetry


@dataclass(frozen=True, slots=True)
class EventIn(FromAgent):
    event: Event


@dataclass(frozen=True, slots=True)
class ReplyIn(FromAgent):
    reply: CommandReply


@dataclass(frozen=True, slots=True)
class Refused:
    topic: str
    reason: str


Inbound = StatusIn | StateIn | TelemetryIn | EventIn | ReplyIn


def classify(topic: str, payload: bytes) -> Inbound | Refused:
    try:
        parsed = wire.parse_topic(topic)
    except wire.TopicError as exc:
        return Refused(topic, str(exc))
    org, agent = parsed.org_id, parsed.agent_id
    try:
        match parsed.kind:
            case TopicKind.STATUS:
                if not payload:  # a cleared retained message
                    return Refused(topic, "empty status payload (retained message cleared)")
                return StatusIn(org, agent, wire.decode_agent_status(payload))
            case TopicKind.PRINTER_STATE:
                if not payload:
                    return Refused(topic, "empty state payload (retained message cleared)")
                state = wire.decode_printer_state(payload)
                if state.printer_id != parsed.printer_id:
                    return Refused(topic, f"state names printer {state.printer_id!r}")
                return StateIn(org, agent, state)
            case TopicKind.TELEMETRY:
                telemetry = wire.decode_telemetry(payload)
                if telemetry.printer_id != parsed.printer_id:
                    return Refused(topic, f"telemetry names printer {telemetry.printer_id!r}")
                return TelemetryIn(org, agent, telemetry)
            case TopicKind.EVENTS:
                return EventIn(org, agent, wire.decode_event(payload))
            case TopicKind.REPLIES:
                return ReplyIn(org, agent, wire.decode_reply(payload))
            case TopicKind.CONFIG | TopicKind.COMMANDS | TopicKind.ACKS:
                return Refused(topic, "the cloud publishes this topic; it does not consume it")
    except wire.WireDecodeError as exc:
        return Refused(topic, str(exc))
    return Refused(topic, "unhandled topic kind")  # pragma: no cover - exhaustive match above
