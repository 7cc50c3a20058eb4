"""Encoding and decoding of MQTT payloads, with encoders and decoders built once.

A consumer loop calls `decode_*` on untrusted bytes: every failure comes out as one
`WireDecodeError` naming what was wrong, never as a crash of the loop.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from shared.wire.messages import (
    SCHEMA_VERSION,
    AgentStatus,
    Command,
    CommandReply,
    DesiredConfig,
    Event,
    EventAck,
    PrinterState,
    Telemetry,
)

T = TypeVar("T")

_encoder = msgspec.json.Encoder()


class WireDecodeError(ValueError):
    """A payload that is not a valid message of the contract."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"invalid {what} payload: {reason}")
        self.what = what
        self.reason = reason


class _Decoder(Generic[T]):
    def __init__(self, what: str, type_: Any) -> None:
        self._what = what
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(type_)

    def __call__(self, payload: bytes | bytearray | memoryview | str) -> T:
        try:
            message = self._decoder.decode(payload)
        except msgspec.DecodeError as exc:  # ValidationError is a subclass
            raise WireDecodeError(self._what, str(exc)) from exc
        version = getattr(message, "schema_version", SCHEMA_VERSION)
        if version > SCHEMA_VERSION:
            raise WireDecodeError(
                self._what,
                f"schema_version {version} is newer than this software reads "
                f"({SCHEMA_VERSION}); upgrade it",
            )
        return message


def encode(message: msgspec.Struct) -> bytes:
    return _encoder.encode(message)


decode_agent_status: _Decoder[AgentStatus] = _Decoder("status", AgentStatus)
decode_printer_state: _Decoder[PrinterState] = _Decoder("printer state", PrinterState)
decode_telemetry: _Decoder[Telemetry] = _Decoder("telemetry", Telemetry)
decode_event: _Decoder[Event] = _Decoder("event", Event)
decode_reply: _Decoder[CommandReply] = _Decoder("reply", CommandReply)
decode_config: _Decoder[DesiredConfig] = _Decoder("config", DesiredConfig)
decode_command: _Decoder[Command] = _Decoder("command", Command)
decode_ack: _Decoder[EventAck] = _Decoder("ack", EventAck)
