"""What the host protocol reports, and its two error kinds (after h11).

`LocalProtocolError`: this program misused the protocol object (a command with a newline, a
send after the link failed). `RemoteProtocolError`: the printer broke the protocol or stopped
answering; the connection cannot go on and the reason is meant for a person.
"""

from __future__ import annotations

import msgspec


class LocalProtocolError(Exception):
    """The caller misused the protocol object."""


class RemoteProtocolError(Exception):
    """The printer broke the protocol or stopped answering; the link is unusable."""


class _Event(msgspec.Struct, frozen=True):
    pass


class Ok(_Event, frozen=True):
    """A command sent with `HostProtocol.send` was acknowledged; `text` is the rest of the ok."""

    ticket: int
    text: str = ""


class FileProgress(_Event, frozen=True):
    """File lines acknowledged so far (coalesced: at most one per `receive_data` call)."""

    lines_acked: int
    offset_acked: int


class Resend(_Event, frozen=True):
    """The printer asked for `line` again and the protocol rewound to it."""

    line: int
    reason: str = ""


class Temperature(_Event, frozen=True):
    """Sensor name ("T", "T0", "T1", "B", "C", "P", "A") -> (actual °C, target °C or None)."""

    readings: dict[str, tuple[float, float | None]]


class Busy(_Event, frozen=True):
    """Marlin host keep-alive: "echo:busy: processing" / "paused for user" / "paused for input"."""

    reason: str


class Wait(_Event, frozen=True):
    """Marlin's idle "wait" (NO_TIMEOUTS); never an acknowledgement."""


class FirmwareReset(_Event, frozen=True):
    """The firmware printed "start": it rebooted and lost every queued command."""


class FirmwareError(_Event, frozen=True):
    """An "Error:" or "!!" line. `fatal`: the firmware halted (kill, thermal, MIN/MAXTEMP)."""

    message: str
    fatal: bool


class HostAction(_Event, frozen=True):
    """A "//action:<name> <argument>" line (Marlin host_actions.cpp; Klipper "// action:")."""

    action: str
    argument: str = ""


class Capability(_Event, frozen=True):
    """One M115 "Cap:NAME:0|1" line."""

    name: str
    enabled: bool


class FirmwareInfo(_Event, frozen=True):
    """The M115 "FIRMWARE_NAME:… KEY:value …" line."""

    name: str
    fields: dict[str, str]


class Message(_Event, frozen=True):
    """Anything else the printer said ("echo:…", "// …", unknown text); never an error."""

    text: str


class NeedData(_Event, frozen=True):
    """No complete event is buffered: feed more bytes."""


NEED_DATA = NeedData()

Event = (
    Ok
    | FileProgress
    | Resend
    | Temperature
    | Busy
    | Wait
    | FirmwareReset
    | FirmwareError
    | HostAction
    | Capability
    | FirmwareInfo
    | Message
    | NeedData
)
