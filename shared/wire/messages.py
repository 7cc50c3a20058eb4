"""MQTT payloads: one msgspec Struct per message, JSON on the wire.

Compatibility rules (the contract is public and versioned, see docs/mqtt.md):
- every payload carries ``schema_version``; this module writes `SCHEMA_VERSION`;
- a new field always has a default, and decoders ignore fields they do not know, so an old
  agent and a new cloud (or the reverse) keep talking;
- a breaking change bumps `SCHEMA_VERSION`, and consumers refuse versions they cannot read.
Timestamps are RFC 3339 / ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from shared.enums import AgentState, ErrorCode, PrinterStatus

SCHEMA_VERSION = 1

Id = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Percent = Annotated[float, Meta(ge=0, le=100)]
NonNegative = Annotated[float, Meta(ge=0)]
Sha256 = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]
# Naive timestamps are refused: a wall-clock time without a zone is ambiguous on a fleet.
Timestamp = Annotated[datetime, Meta(tz=True)]


class _Wire(Struct, frozen=True, kw_only=True):
    schema_version: int = SCHEMA_VERSION


# --- agent → cloud -----------------------------------------------------------------------


class AgentStatus(_Wire, frozen=True, kw_only=True):
    """Retained on ``status``. The Last Will is the same message with state offline.

    ``session`` grows by one on every connection the agent makes, so a late Will from an old
    connection (lower session) never overrides a newer ``online``.
    """

    state: AgentState
    session: Annotated[int, Meta(ge=0)]
    agent_version: str
    ts: Timestamp
    printer_ids: list[Id] = []


class Temperatures(Struct, frozen=True, kw_only=True, omit_defaults=True):
    """°C; a heater the printer does not have is left out."""

    hotend: float | None = None
    hotend_target: float | None = None
    bed: float | None = None
    bed_target: float | None = None
    chamber: float | None = None
    chamber_target: float | None = None
    # Further tools of a multi-extruder printer: {"T1": [actual, target]}.
    tools: dict[str, list[float | None]] = {}
    # Other heaters and sensors by the printer's own name, target null for a sensor:
    # {"temperature_sensor mcu_temp": [41.2, null]} (Klipper names them by config section).
    sensors: dict[str, list[float | None]] = {}


class JobState(Struct, frozen=True, kw_only=True):
    job_id: Id
    progress: Percent
    elapsed_s: NonNegative
    remaining_s: NonNegative | None = None
    # The layer being printed and how many there are, from printers that report them
    # (Bambu Lab); null otherwise. Older clouds skip them (unknown fields).
    layer: Annotated[int, Meta(ge=0)] | None = None
    layer_count: Annotated[int, Meta(ge=0)] | None = None


class LoadedMaterial(Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Filament the printer itself reports as loaded (e.g. a Bambu AMS tray)."""

    slot: Annotated[str, Meta(min_length=1, max_length=64)]  # "AMS1 tray 2", "external"
    type: Annotated[str, Meta(max_length=64)] | None = None  # "PLA"
    color: Annotated[str, Meta(pattern=r"^#[0-9A-F]{6}$")] | None = None
    remaining_pct: Percent | None = None


class PrinterState(_Wire, frozen=True, kw_only=True):
    """Retained on ``printers/{id}/state``: the full snapshot, published on every change."""

    printer_id: Id
    status: PrinterStatus
    connected: bool
    ts: Timestamp
    session: Annotated[int, Meta(ge=0)] = 0
    firmware: str | None = None
    temperatures: Temperatures = Temperatures()
    job: JobState | None = None
    # A job started outside AutoPrintFarm (e.g. in OctoPrint's own UI): the printer is busy.
    foreign_job: str | None = None
    message: str | None = None
    # What the printer reports as loaded, for printers that can tell (Bambu AMS trays).
    # Older clouds ignore the field (unknown fields are skipped).
    materials: list[LoadedMaterial] = []


class Telemetry(_Wire, frozen=True, kw_only=True):
    """Not retained, QoS 0, on ``printers/{id}/telemetry``; coalesced to about 1 Hz."""

    printer_id: Id
    ts: Timestamp
    temperatures: Temperatures
    job: JobState | None = None


# Events: a tagged union on "type"; every event has an id (for dedup) and the agent's
# sequence number (for order and gap detection).


class _Event(_Wire, frozen=True, kw_only=True, tag_field="type"):
    event_id: Annotated[str, Meta(min_length=1, max_length=64)]
    seq: Annotated[int, Meta(ge=1)]
    ts: Timestamp
    printer_id: Id


class JobStartedEvent(_Event, frozen=True, kw_only=True, tag="job.started"):
    job_id: Id


class JobPausedEvent(_Event, frozen=True, kw_only=True, tag="job.paused"):
    job_id: Id


class JobResumedEvent(_Event, frozen=True, kw_only=True, tag="job.resumed"):
    job_id: Id


class JobCompletedEvent(_Event, frozen=True, kw_only=True, tag="job.completed"):
    job_id: Id
    duration_s: NonNegative
    filament_used_mm: NonNegative | None = None


class JobFailedEvent(_Event, frozen=True, kw_only=True, tag="job.failed"):
    job_id: Id
    reason: str
    progress: Percent = 0.0
    duration_s: NonNegative = 0.0
    filament_used_mm: NonNegative | None = None


class JobCancelledEvent(_Event, frozen=True, kw_only=True, tag="job.cancelled"):
    job_id: Id
    progress: Percent = 0.0
    duration_s: NonNegative = 0.0
    filament_used_mm: NonNegative | None = None


class PrinterOnlineEvent(_Event, frozen=True, kw_only=True, tag="printer.online"):
    firmware: str | None = None


class PrinterOfflineEvent(_Event, frozen=True, kw_only=True, tag="printer.offline"):
    reason: str | None = None


class PrinterErrorEvent(_Event, frozen=True, kw_only=True, tag="printer.error"):
    message: str


Event = (
    JobStartedEvent
    | JobPausedEvent
    | JobResumedEvent
    | JobCompletedEvent
    | JobFailedEvent
    | JobCancelledEvent
    | PrinterOnlineEvent
    | PrinterOfflineEvent
    | PrinterErrorEvent
)


class CommandReply(_Wire, frozen=True, kw_only=True):
    """On ``replies``: the outcome of one command, matched by ``command_id``."""

    command_id: Annotated[str, Meta(min_length=1, max_length=64)]
    ok: bool
    ts: Timestamp
    printer_id: Id | None = None
    error: ErrorCode | None = None
    message: str | None = None


# --- cloud → agent -----------------------------------------------------------------------


class SerialConnection(Struct, frozen=True, kw_only=True, tag_field="kind", tag="serial"):
    port: str
    baud: Annotated[int, Meta(gt=0)] | None = None  # None: the profile's default
    profile: str = "auto"


class OctoPrintConnection(Struct, frozen=True, kw_only=True, tag_field="kind", tag="octoprint"):
    url: str
    api_key: str

    def __repr__(self) -> str:
        # A config is logged, compared and shown in tracebacks; the key never is.
        return f"OctoPrintConnection(url={self.url!r}, api_key='***')"


class MoonrakerConnection(Struct, frozen=True, kw_only=True, tag_field="kind", tag="moonraker"):
    """A Klipper printer through its Moonraker API server, e.g. http://voron.local:7125."""

    url: str
    # None when Moonraker trusts the agent's address ([authorization] trusted_clients).
    api_key: str | None = None

    def __repr__(self) -> str:
        key = "None" if self.api_key is None else "'***'"
        return f"MoonrakerConnection(url={self.url!r}, api_key={key})"


class PrusaLinkConnection(Struct, frozen=True, kw_only=True, tag_field="kind", tag="prusalink"):
    """A Prusa printer through PrusaLink: HTTP Digest credentials, or an API key."""

    url: str
    username: str | None = None
    password: str | None = None
    api_key: str | None = None

    def __repr__(self) -> str:
        return f"PrusaLinkConnection(url={self.url!r}, username={self.username!r}, secrets='***')"


class BambuConnection(Struct, frozen=True, kw_only=True, tag_field="kind", tag="bambu"):
    """A Bambu Lab printer in LAN mode: MQTT over TLS and implicit FTPS."""

    host: str
    serial: str  # names the printer's MQTT topics (device/{serial}/report)
    access_code: str  # the LAN access code from the printer's screen
    mqtt_port: int = 8883
    ftps_port: int = 990
    # SHA-256 of the printer's self-signed certificate, 64 lowercase hex digits: pinned when
    # given, instead of trusting the certificate seen first.
    fingerprint: str | None = None

    def __repr__(self) -> str:
        return (
            f"BambuConnection(host={self.host!r}, serial={self.serial!r}, "
            f"mqtt_port={self.mqtt_port}, ftps_port={self.ftps_port}, access_code='***')"
        )


Connection = (
    SerialConnection
    | OctoPrintConnection
    | MoonrakerConnection
    | PrusaLinkConnection
    | BambuConnection
)


class PrinterConfig(Struct, frozen=True, kw_only=True):
    printer_id: Id
    name: str
    connection: Connection
    model: str | None = None


class DesiredConfig(_Wire, frozen=True, kw_only=True):
    """Retained on ``config``: the printers this agent should drive.

    ``revision`` grows with every change so the agent can ignore a stale copy.
    """

    agent_id: Id
    revision: Annotated[int, Meta(ge=0)]
    printers: list[PrinterConfig] = []
    # True from a cloud that publishes `EventAck`s: the agent then keeps each event until
    # the cloud says it applied it. Absent (an older cloud): the agent deletes an event once
    # the broker acknowledged it, as before, so an old cloud never makes the outbox grow.
    event_acks: bool = False


class EventAck(_Wire, frozen=True, kw_only=True):
    """Retained on ``acks``: how far the cloud has applied this agent's ``events``.

    ``applied_seq`` = N means every event with ``seq`` <= N is applied (or was given up as
    never coming, docs/mqtt.md); it never goes down, so the agent may delete those events.
    ``resend`` asks the agent to publish its unacknowledged events again now rather than at
    its next retry: the cloud reconnected, or it holds an event behind a missing one.
    """

    applied_seq: Annotated[int, Meta(ge=0)]
    resend: bool = False


class _Command(_Wire, frozen=True, kw_only=True, tag_field="command"):
    command_id: Annotated[str, Meta(min_length=1, max_length=64)]
    printer_id: Id
    issued_at: Timestamp
    # MQTT 3.1.1 has no message expiry and a persistent session can replay old commands:
    # the agent refuses a command past this time (reply error command_expired).
    expires_at: Timestamp


class StartJob(_Command, frozen=True, kw_only=True, tag="start_job"):
    job_id: Id
    file_url: str
    sha256: Sha256
    size_bytes: Annotated[int, Meta(ge=0)]
    file_name: str = "job.gcode"


class _JobCommand(_Command, frozen=True, kw_only=True):
    # The job the command is about: the agent acts only while the printer runs that job,
    # so a late command never touches the next one (it answers `invalid_request`). Absent:
    # whatever the printer runs (a job the farm did not start, or an older cloud).
    job_id: Id | None = None


class PauseJob(_JobCommand, frozen=True, kw_only=True, tag="pause"):
    pass


class ResumeJob(_JobCommand, frozen=True, kw_only=True, tag="resume"):
    pass


class CancelJob(_JobCommand, frozen=True, kw_only=True, tag="cancel"):
    pass


class HomeAxes(_Command, frozen=True, kw_only=True, tag="home"):
    pass


class Cooldown(_Command, frozen=True, kw_only=True, tag="cooldown"):
    pass


class RawGcode(_Command, frozen=True, kw_only=True, tag="gcode"):
    lines: Annotated[list[str], Meta(min_length=1, max_length=1000)]


Command = StartJob | PauseJob | ResumeJob | CancelJob | HomeAxes | Cooldown | RawGcode
