"""Encoding and decoding of MQTT payloads, with encoders and decoders built once.

A consumer loop calls `decode_*` on untrusted bytes: every failure comes out as one
`WireDecodeError` naming what was wrong, never as a crash of the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    PrinterConfig,
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


@dataclass(frozen=True, slots=True)
class UnreadablePrinter:
    """A printer of a desired config this software cannot read (its id, when it has one)."""

    printer_id: str | None
    reason: str


def decode_config_leniently(
    payload: bytes | bytearray | memoryview | str,
) -> tuple[DesiredConfig, list[UnreadablePrinter]]:
    """A desired config whose unreadable printers are left out instead of failing it whole.

    A newer cloud can name what an older agent does not know (a new connection kind, say):
    that printer cannot be driven here, but every other printer of the agent must go on. The
    rest of the message is read as strictly as `decode_config` reads it.
    """
    try:
        return decode_config(payload), []
    except WireDecodeError as strict_error:
        try:
            raw = msgspec.json.decode(payload)
        except msgspec.DecodeError:
            raise strict_error from None
        if not isinstance(raw, dict) or not isinstance(raw.get("printers"), list):
            raise
    readable: list[PrinterConfig] = []
    skipped: list[UnreadablePrinter] = []
    for item in raw["printers"]:
        try:
            readable.append(msgspec.convert(item, PrinterConfig))
        except msgspec.ValidationError as exc:
            pid = item.get("printer_id") if isinstance(item, dict) else None
            skipped.append(UnreadablePrinter(pid if isinstance(pid, str) else None, str(exc)))
    envelope = decode_config(msgspec.json.encode({**raw, "printers": []}))
    return msgspec.structs.replace(envelope, printers=readable), skipped
