"""Firmware profiles: every dialect quirk as data, loaded strictly from `firmware-profiles/*.toml`.

A profile is decoded into frozen msgspec Structs with ``forbid_unknown_fields``, so a typo in
a profile is an error that names the file and the key instead of a silently ignored setting.
The wheel ships the files as ``agent/firmware-profiles`` (pyproject force-include); a source
checkout reads the repository's ``firmware-profiles/``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Literal

import msgspec

# How a firmware asks for a line again after a bad checksum or line number.
#   resend       "Resend: N" (Marlin, Prusa, Repetier)
#   rs           "rs N" (Smoothieware; RepRapFirmware's M998)
#   silent_drop  the bad line is discarded with no answer; only a timeout reveals it
#                (RepRapFirmware 3.x, StringParser::LineFinished)
#   none         never asks (Klipper over klippy's pty: the link cannot corrupt bytes)
ResendStyle = Literal["resend", "rs", "silent_drop", "none"]

PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
PositiveInt = Annotated[int, msgspec.Meta(gt=0)]


class Detect(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Case-insensitive substrings of the M115 FIRMWARE_NAME value that select this profile.
    firmware_name_contains: list[str]
    # Higher wins when several profiles match ("Prusa-Firmware … based on Marlin").
    priority: int = 0


class Link(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    default_baud: PositiveInt = 115200
    line_numbers: bool = True
    checksums: bool = True
    # The firmware's serial receive buffer and how much of it the host keeps free for
    # out-of-band commands (M112, M108, M410, M876).
    rx_buffer_bytes: PositiveInt = 128
    rx_reserve_bytes: Annotated[int, msgspec.Meta(ge=0)] = 8
    # Commands the firmware can hold (Marlin BUFSIZE): the most lines ever in flight.
    command_queue_depth: PositiveInt = 4
    # Marlin ADVANCED_OK: "ok N<line> P<planner free> B<queue free>"; learnt when seen.
    advanced_ok: bool = False


class Resend(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    style: ResendStyle = "resend"
    # Marlin 2.x (flush_and_request_resend) and Prusa answer "Resend: N" then "ok"; that ok
    # acknowledges no line and must not open the window.
    ok_follows_resend: bool = True
    # "Error:checksum mismatch, Last Line: 99" names the last accepted line: resend from 100
    # at once instead of waiting for the "Resend:" line, which noise may have eaten.
    error_names_last_line: bool = True
    # OctoPrint gives up after 10 consecutive requests for one line (comm.py maxConsecutiveResends).
    max_consecutive: PositiveInt = 10


class Timeouts(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # No ok for this long with lines in flight: send a probe (a numbered M105 whose "ok T:"
    # reply proves every earlier line was accepted), or resend on silent-drop firmware.
    probe_s: PositiveFloat = 4.0
    # Probes in a row with no ok at all before the link is declared dead.
    max_probes: PositiveInt = 3
    # Commands that legitimately take minutes (OctoPrint's longRunningCommands).
    long_command_s: PositiveFloat = 900.0
    long_commands: list[str] = msgspec.field(
        default_factory=lambda: [
            "G4",
            "G28",
            "G29",
            "G30",
            "G32",
            "M109",
            "M190",
            "M191",
            "M400",
            "M226",
            "M600",
        ]
    )
    # How long the M115 identification may take after the port opens.
    detect_s: PositiveFloat = 10.0


class Commands(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pause: list[str] = msgspec.field(default_factory=list)
    resume: list[str] = msgspec.field(default_factory=list)
    cancel: list[str] = msgspec.field(default_factory=list)
    home: list[str] = msgspec.field(default_factory=lambda: ["G28"])
    cooldown: list[str] = msgspec.field(default_factory=lambda: ["M104 S0", "M140 S0"])
    emergency_stop: str = "M112"
    temperature_poll: str = "M105"
    # Commands the firmware's emergency parser acts on straight from the receive buffer.
    out_of_band: list[str] = msgspec.field(default_factory=list)


class Reporting(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # M155 S<sec> temperature auto-report, used when the firmware also says
    # Cap:AUTOREPORT_TEMP:1 (or always, when capability lines are not printed).
    temperature_autoreport: bool = False
    autoreport_needs_capability: bool = True
    autoreport_interval_s: PositiveInt = 2
    poll_interval_s: PositiveFloat = 2.0
    sd_status_autoreport: bool = False
    host_actions: bool = True
    # Marlin HOST_KEEPALIVE_FEATURE: "echo:busy: processing" every M113 S<n> seconds.
    busy_protocol: bool = False


class FirmwareProfile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    display_name: str
    notes: str = ""
    detect: Detect
    link: Link = msgspec.field(default_factory=Link)
    resend: Resend = msgspec.field(default_factory=Resend)
    timeouts: Timeouts = msgspec.field(default_factory=Timeouts)
    commands: Commands = msgspec.field(default_factory=Commands)
    reporting: Reporting = msgspec.field(default_factory=Reporting)

    @property
    def rx_budget_bytes(self) -> int:
        # GRBL-style character counting: one byte of the buffer is never usable (ring
        # buffers keep one slot empty) and the reserve stays free for out-of-band commands.
        return max(1, self.link.rx_buffer_bytes - 1 - self.link.rx_reserve_bytes)


class ProfileError(Exception):
    """A profile file is missing, unreadable or has a wrong or unknown key."""


def profiles_dir() -> Path:
    """The installed profiles (wheel) if present, else the source checkout's."""
    installed = Path(__file__).resolve().parent.parent / "firmware-profiles"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent.parent / "firmware-profiles"


def load_profile_file(path: Path) -> FirmwareProfile:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read firmware profile: {exc.strerror}") from exc
    try:
        profile = msgspec.toml.decode(data, type=FirmwareProfile)
    except msgspec.ValidationError as exc:
        # msgspec names the key: "Object contains unknown field `x` - at `$.link`".
        raise ProfileError(f"{path.name}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise ProfileError(f"{path.name}: not valid TOML: {exc}") from exc
    if profile.link.checksums != profile.link.line_numbers:
        # Marlin refuses "*<cs>" without "N" ("No Line Number with checksum") and a numbered
        # line without a checksum ("No Checksum with line number").
        raise ProfileError(f"{path.name}: link.checksums and link.line_numbers must match")
    if profile.name != path.stem:
        raise ProfileError(f"{path.name}: name {profile.name!r} must match the file name")
    return profile


@functools.cache
def load_profiles(directory: Path | None = None) -> dict[str, FirmwareProfile]:
    """Every profile by name, sorted by name; raises ProfileError on the first bad file."""
    folder = directory or profiles_dir()
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise ProfileError(f"no firmware profiles found in {folder}")
    return {p.name: p for p in (load_profile_file(f) for f in files)}


def get_profile(name: str) -> FirmwareProfile:
    profiles = load_profiles()
    try:
        return profiles[name]
    except KeyError:
        known = ", ".join(profiles)
        raise ProfileError(f"unknown firmware profile {name!r} (known: {known})") from None


def detect_profile(firmware_name: str, fallback: str = "marlin") -> FirmwareProfile:
    """Pick the profile for an M115 FIRMWARE_NAME value; the fallback when none matches."""
    lowered = firmware_name.lower()
    matches = [
        p
        for p in load_profiles().values()
        if any(s.lower() in lowered for s in p.detect.firmware_name_contains)
    ]
    if not matches:
        return get_profile(fallback)
    return max(matches, key=lambda p: p.detect.priority)
