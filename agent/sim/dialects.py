"""What each firmware says, as data plus a few formatters.

Every string here is the form the real firmware prints; the sources are named per field
(see also docs/simulator.md and the field notes §1.1). The firmware model in
`agent.sim.firmware` never branches on a dialect name: it reads these fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from agent.sim import eeprom, prusa
from agent.sim.heaters import Heater
from agent.sim.state import Command, Run

if TYPE_CHECKING:
    from agent.sim.firmware import Firmware

# How a line with a line number and checksum is checked.
#  "marlin": N must be last+1 (except M110), `*cs` required with N; errors ask for a resend
#            (Marlin queue.cpp get_serial_commands/gcode_line_error; Prusa cmdqueue.cpp).
#  "ignore": leading N and trailing *cs stripped, never checked (klippy gcode.py L46-60).
#  "drop":   a bad or missing checksum silently discards the line, no reply at all
#            (RepRapFirmware StringParser::LineFinished, L283-345).
CheckStyle = Literal["marlin", "ignore", "drop"]
# What a fatal error leaves behind:
#  "dead":     kill(): no byte more until a reset (Marlin minkill loop).
#  "shutdown": Klipper answers every command with `!! <reason>` and `ok` until restarted.
HaltStyle = Literal["dead", "shutdown"]

TempFormatter = Callable[[Sequence[Heater], Heater, int, float], str]
# (tools, bed, active tool, now, the heater being waited for) -> line
TickFormatter = Callable[[Sequence[Heater], Heater, int, float, Heater], str]
# A command the dialect answers itself (firmware, command, when it is done by default)
CommandHandler = Callable[["Firmware", Command, float], Run]


def _marlin_temps(tools: Sequence[Heater], bed: Heater, active: int, now_s: float) -> str:
    # Marlin print_heater_states(): two decimals; `T:` is the active tool, then per-tool
    # `T0:`/`T1:` only with several hotends, then powers `@:`/`B@:` (@0:/@1: likewise).
    cur = tools[active]
    parts = [
        f"T:{cur.temp_c(now_s):.2f} /{cur.target_c:.2f}",
        f"B:{bed.temp_c(now_s):.2f} /{bed.target_c:.2f}",
    ]
    if len(tools) > 1:
        parts += [f"{h.label}:{h.temp_c(now_s):.2f} /{h.target_c:.2f}" for h in tools]
    parts += [f"@:{cur.power(now_s)}", f"B@:{bed.power(now_s)}"]
    if len(tools) > 1:
        parts += [f"@{i}:{h.power(now_s)}" for i, h in enumerate(tools)]
    return " ".join(parts)


def _prusa_temps(tools: Sequence[Heater], bed: Heater, active: int, now_s: float) -> str:
    # Prusa-Firmware Marlin_main.cpp L2503-2550: one decimal, always T0, then the PINDA
    # probe `P:` and ambient `A:` sensors of the MK3.
    cur = tools[active]
    parts = [
        f"T:{cur.temp_c(now_s):.1f} /{cur.target_c:.1f}",
        f"B:{bed.temp_c(now_s):.1f} /{bed.target_c:.1f}",
    ]
    parts += [f"{h.label}:{h.temp_c(now_s):.1f} /{h.target_c:.1f}" for h in tools]
    parts += [f"@:{cur.power(now_s)}", f"B@:{bed.power(now_s)}"]
    parts += [f"P:{min(35.0, bed.temp_c(now_s)):.1f}", f"A:{bed.ambient_c + 4:.1f}"]
    return " ".join(parts)


def _klipper_temps(tools: Sequence[Heater], bed: Heater, active: int, now_s: float) -> str:
    # klippy/extras/heaters.py L331-346: "%s:%.1f /%.1f" per sensor, sorted by gcode id,
    # so the bed `B:` comes before `T0:`.
    del active
    heaters = sorted([bed, *tools], key=lambda h: h.label)
    return " ".join(f"{h.label}:{h.temp_c(now_s):.1f} /{h.target_c:.1f}" for h in heaters)


def _rrf_temps(tools: Sequence[Heater], bed: Heater, active: int, now_s: float) -> str:
    # RepRapFirmware GCodes.cpp L4811-4857 ("compatible with Marlin and Octoprint"):
    # `T:` active tool, every `Tn:`, then `B:`.
    cur = tools[active]
    parts = [f"T:{cur.temp_c(now_s):.1f} /{cur.target_c:.1f}"]
    parts += [f"{h.label}:{h.temp_c(now_s):.1f} /{h.target_c:.1f}" for h in tools]
    parts.append(f"B:{bed.temp_c(now_s):.1f} /{bed.target_c:.1f}")
    return " ".join(parts)


def _prusa_tick(
    tools: Sequence[Heater], bed: Heater, active: int, now_s: float, waited: Heater
) -> str:
    # Prusa M109 prints `T:215.0 E:0 W:?`; M190 prints `T:… E:0 B:…`.
    line = f"T:{tools[active].temp_c(now_s):.1f} E:{active}"
    if waited is bed:
        return f"{line} B:{bed.temp_c(now_s):.1f}"
    return f"{line} W:?"


@dataclass(frozen=True, slots=True)
class DialectSpec:
    name: str
    rx_buffer_bytes: int | None  # None: flow-controlled link, nothing lost
    command_queue: int
    processing_s: float
    resend_ok: bool
    check_style: CheckStyle
    halt_style: HaltStyle
    temps: TempFormatter
    # Prefix of an M105 answer (the report rides on the `ok` line in all four firmwares)
    m105_prefix: str
    # Prefix of an M155 auto-report line; None: M155 is not supported
    autoreport_prefix: str | None
    # Temperature line printed every second while M109/M190 wait; None: silent wait
    heating_tick: TickFormatter | None
    busy_line: str | None  # HOST_KEEPALIVE `echo:busy: processing`; None: no keep-alive
    m115: Callable[[int, bool, bool], list[str]]  # (hotends, autoreport, emergency) -> lines
    m115_on_ok: bool  # Klipper puts the M115 answer on the `ok` line
    unknown: Callable[[str], list[str]]
    start_lines: tuple[str, ...]
    kill_lines: Callable[[str], list[str]]  # reason -> lines before halting
    thermal_lines: tuple[str, ...]
    action_prefix: str  # `//action:` (Marlin, Prusa) or `// action:` (Klipper)
    # Command -> host action it announces (M601 on Prusa, M25 on Marlin, PAUSE on Klipper)
    actions: tuple[tuple[str, str], ...]
    # Filament runout as the printer announces it (tool index -> lines)
    runout_lines: Callable[[int], list[str]]
    ack_empty_lines: bool  # Klipper acks an empty line; Marlin skips it silently
    supports_m110: bool
    # Commands only this firmware has (or answers its own way), before the common ones
    commands: Mapping[str, CommandHandler] = field(default_factory=dict)
    # The lines of one M155 auto-report; None: the temperature line with autoreport_prefix
    autoreport: Callable[[Firmware, float], list[str]] | None = None
    # EEPROM contents at first power-on (D3 reads and writes it); None: no D3
    eeprom_image: Callable[[], bytes] | None = None


def _first_word(command: str) -> str:
    words = command.split(None, 1)
    return words[0] if words else ""


def _marlin_m115(hotends: int, autoreport: bool, emergency: bool) -> list[str]:
    # Marlin gcode/host/M115.cpp: FIRMWARE_NAME line, then `Cap:NAME:0|1` lines
    # (EXTENDED_CAPABILITIES_REPORT). ADVANCED_OK has no Cap line: a host sees it on the
    # first `ok N.. P.. B..`.
    caps = {
        "SERIAL_XON_XOFF": 0,
        "BINARY_FILE_TRANSFER": 0,
        "EEPROM": 1,
        "VOLUMETRIC": 1,
        "AUTOREPORT_POS": 0,
        "AUTOREPORT_TEMP": int(autoreport),
        "PROGRESS": 0,
        "PRINT_JOB": 1,
        "AUTOLEVEL": 0,
        "RUNOUT": 1,
        "Z_PROBE": 0,
        "LEVELING_DATA": 0,
        "BUILD_PERCENT": 0,
        "SOFTWARE_POWER": 0,
        "TOGGLE_LIGHTS": 0,
        "CASE_LIGHT_BRIGHTNESS": 0,
        "EMERGENCY_PARSER": int(emergency),
        "HOST_ACTION_COMMANDS": 1,
        "PROMPT_SUPPORT": 0,
        "SDCARD": 0,
        "AUTOREPORT_SD_STATUS": 0,
        "THERMAL_PROTECTION": 1,
        "MOTION_MODES": 0,
        "ARCS": 1,
        "BABYSTEPPING": 0,
        "CHAMBER_TEMPERATURE": 0,
        "MEATPACK": 0,
    }
    head = (
        "FIRMWARE_NAME:Marlin 2.1.2.4 (Aug  1 2024 12:00:00) "
        "SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin PROTOCOL_VERSION:1.0 "
        f"MACHINE_TYPE:APF Simulator EXTRUDER_COUNT:{hotends} "
        "UUID:cede2a2f-41a2-4748-9b12-c55c62f367ff"
    )
    return [head, *(f"Cap:{name}:{value}" for name, value in caps.items())]


def _prusa_m115(hotends: int, autoreport: bool, emergency: bool) -> list[str]:
    # Prusa-Firmware Marlin_main.cpp L3823-3843: its own capability set.
    del emergency
    head = (
        "FIRMWARE_NAME:Prusa-Firmware 3.14.1 based on Marlin "
        "FIRMWARE_URL:https://github.com/prusa3d/Prusa-Firmware PROTOCOL_VERSION:1.0 "
        f"MACHINE_TYPE:Prusa i3 MK3S EXTRUDER_COUNT:{hotends} "
        "UUID:00000000-0000-0000-0000-000000000000"
    )
    caps = [
        f"Cap:AUTOREPORT_TEMP:{int(autoreport)}",
        "Cap:AUTOREPORT_FANS:1",
        "Cap:AUTOREPORT_POSITION:1",
        "Cap:EXTENDED_M20:1",
        "Cap:PRUSA_MMU2:1",
    ]
    return [head, *caps]


def _klipper_m115(hotends: int, autoreport: bool, emergency: bool) -> list[str]:
    # klippy/gcode.py cmd_M115: only these two keys, on the `ok` line.
    del hotends, autoreport, emergency
    return ["FIRMWARE_NAME:Klipper FIRMWARE_VERSION:v0.12.0-apf-sim"]


def _rrf_m115(hotends: int, autoreport: bool, emergency: bool) -> list[str]:
    # RepRapFirmware's M115 puts a space after each colon.
    del hotends, autoreport, emergency
    return [
        "FIRMWARE_NAME: RepRapFirmware for Duet 3 MB6HC FIRMWARE_VERSION: 3.5.1 "
        "ELECTRONICS: Duet 3 MB6HC v1.01 or later FIRMWARE_DATE: 2024-04-19 14:07:53"
    ]


def _marlin_kill(reason: str) -> list[str]:
    # Marlin kill(): `Error:Printer halted. kill() called!` (language.h STR_ERR_KILLED).
    del reason
    return ["Error:Printer halted. kill() called!"]


def _klipper_kill(reason: str) -> list[str]:
    # klippy: invoke_shutdown -> `// Klipper state: Shutdown`; the reason is repeated as
    # `!! <reason>` on every later command.
    return [f"!! {reason}", "// Klipper state: Shutdown"]


def _rrf_kill(reason: str) -> list[str]:
    del reason
    return ["Emergency Stop! Reset the controller to continue."]


MARLIN = DialectSpec(
    name="marlin",
    rx_buffer_bytes=128,  # HAL MarlinSerial.h RX_BUFFER_SIZE default (field notes §1.2)
    command_queue=4,  # BUFSIZE 4
    processing_s=0.0005,
    resend_ok=True,
    check_style="marlin",
    halt_style="dead",
    temps=_marlin_temps,
    m105_prefix="ok ",
    autoreport_prefix=" ",  # auto-reports start with a space: print_heater_states() + EOL
    # Marlin wait_for_hotend(): the full report each second plus the residency ` W:`
    heating_tick=lambda tools, bed, act, t, h: f" {_marlin_temps(tools, bed, act, t)} W:?",
    busy_line="echo:busy: processing",
    m115=_marlin_m115,
    m115_on_ok=False,
    unknown=lambda cmd: [f'echo:Unknown command: "{cmd}"'],
    start_lines=("start", "echo:Marlin 2.1.2.4", "echo: Last Updated: 2024-08-01"),
    kill_lines=_marlin_kill,
    thermal_lines=(
        "Error:Thermal Runaway, system stopped! Heater_ID: 0",
        "Error:Printer halted. kill() called!",
    ),
    action_prefix="//action:",
    actions=(("M25", "pause"), ("M24", "resume")),
    # Marlin runout (ACTION_ON_FILAMENT_RUNOUT / ACTION_REASON_ON_FILAMENT_RUNOUT, both
    # "filament_runout"): the legacy line, then a pause with the reason (field notes §1.1).
    runout_lines=lambda tool: [
        f"//action:filament_runout T{tool}",
        f"//action:paused filament_runout {tool}",
    ],
    ack_empty_lines=False,
    supports_m110=True,
)

PRUSA = DialectSpec(
    name="prusa",
    rx_buffer_bytes=128,  # Firmware/MarlinSerial.h L76
    command_queue=4,  # Configuration_adv.h L348-349
    processing_s=0.0005,
    resend_ok=True,  # Marlin_main.cpp L9397-9402: `Resend: N` then `ok`
    check_style="marlin",
    halt_style="dead",
    temps=_prusa_temps,
    m105_prefix="ok ",
    autoreport_prefix="",
    heating_tick=_prusa_tick,
    busy_line="echo:busy: processing",
    m115=_prusa_m115,
    m115_on_ok=False,
    # messages.cpp MSG_UNKNOWN_CODE "Unknown %c code: %s", printed without `echo:`
    unknown=prusa.unknown,
    start_lines=("start", "echo: External Reset", f"Marlin {prusa.FW_VERSION}"),
    kill_lines=_marlin_kill,
    thermal_lines=(
        "Error: THERMAL RUNAWAY ( PREHEAT HOTEND)",
        "Error:Printer halted. kill() called!",
    ),
    action_prefix="//action:",  # messages.cpp MSG_HOST_ACTION_*: no space after //
    # Marlin_main.cpp L7845-7935: M25/M601 pause, M602 resume, M603 stop
    actions=(
        ("M601", "paused"),
        ("M25", "paused"),
        ("M602", "resumed"),
        ("M603", "cancel"),
    ),
    runout_lines=lambda tool: ["//action:paused"],
    ack_empty_lines=False,
    supports_m110=True,
    commands=prusa.COMMANDS,
    autoreport=prusa.autoreport,
    eeprom_image=eeprom.mk3s_image,
)

KLIPPER = DialectSpec(
    name="klipper",
    rx_buffer_bytes=None,  # klippy stops reading its pty at 20 pending commands
    command_queue=20,
    processing_s=0.0002,
    resend_ok=False,  # never asks for a resend
    check_style="ignore",
    halt_style="shutdown",
    temps=_klipper_temps,
    m105_prefix="ok ",
    autoreport_prefix=None,  # no M155: hosts poll M105
    # heaters.py wait_while(): the M105 report (without `ok`) once a second
    heating_tick=lambda tools, bed, act, t, h: _klipper_temps(tools, bed, act, t),
    busy_line=None,
    m115=_klipper_m115,
    m115_on_ok=True,
    unknown=lambda cmd: [f'// Unknown command:"{_first_word(cmd).upper()}"'],
    start_lines=("// Klipper state: Disconnect", "// Klipper state: Ready"),
    kill_lines=_klipper_kill,
    thermal_lines=(
        "!! Heater extruder not heating at expected rate",
        "// Klipper state: Shutdown",
    ),
    action_prefix="// action:",  # pause_resume.py L58,74,96
    actions=(("PAUSE", "paused"), ("RESUME", "resumed"), ("CANCEL_PRINT", "cancel")),
    # filament_switch_sensor with pause_on_runout: PAUSE runs, which says so.
    runout_lines=lambda tool: ["// action:paused"],
    ack_empty_lines=True,
    supports_m110=True,  # a no-op, acknowledged
)

REPRAPFIRMWARE = DialectSpec(
    name="reprapfirmware",
    rx_buffer_bytes=None,  # native USB: flow-controlled, the baud setting is ignored
    command_queue=8,
    processing_s=0.0002,
    resend_ok=False,
    check_style="drop",
    halt_style="dead",
    temps=_rrf_temps,
    m105_prefix="ok ",
    autoreport_prefix=None,
    heating_tick=None,
    busy_line=None,
    m115=_rrf_m115,
    m115_on_ok=False,
    unknown=lambda cmd: [f"Error: {_first_word(cmd)}: Command is not supported"],
    start_lines=("start",),
    kill_lines=_rrf_kill,
    thermal_lines=(
        "Error: Heater 1 fault: temperature rising much more slowly than the expected 2.1°C/sec",
    ),
    action_prefix="//action:",
    actions=(("M25", "pause"), ("M24", "resume")),
    runout_lines=lambda tool: [f"Error: Filament error on extruder {tool}: noFilament"],
    ack_empty_lines=False,
    supports_m110=True,
)

_SPECS = {s.name: s for s in (MARLIN, PRUSA, KLIPPER, REPRAPFIRMWARE)}


def spec_for(dialect: str) -> DialectSpec:
    return _SPECS[dialect]
