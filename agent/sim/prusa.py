"""Commands only Prusa-Firmware (MK3S, 3.x) has, answered in its exact words.

These are what PrusaLink asks a printer for (see docs in this module's tests): firmware
version, printer type, serial number, nozzle, EEPROM reads and writes through `D3`, print
state (`M27 P`), progress (`M73`), feed and flow rates (`M220`/`M221`), mesh (`M420`), the
SD card (`M20`, `M21`), and the `M155 C` auto-report with fans and position. Every format
below cites the Prusa-Firmware source (MK3 branch) that prints it; the code is our own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from agent.sim import eeprom as ee
from agent.sim.position import Position
from agent.sim.state import Command, Run

if TYPE_CHECKING:
    from agent.sim.firmware import Firmware

Handler = Callable[["Firmware", Command, float], Run]

# Configuration.h FW_MAJOR/FW_MINOR/FW_REVISION/FW_COMMITNR of a release build (no
# FW_FLAVOR): FW_VERSION "3.14.1", FW_VERSION_FULL "3.14.1-<build>". The build number is
# the one of the 3.14.1 release as far as we know; hosts only compare the version part.
FW_VERSION = "3.14.1"
FW_BUILD = 8237
FW_VERSION_FULL = f"{FW_VERSION}-{FW_BUILD}"
PRINTER_TYPE = 302  # printers.h PRINTER_MK3S
PRINTER_NAME = "MK3S"  # printers.h PRINTER_MK3S_NAME
GCODE_LEVEL = 1  # Configuration.h GCODE_LEVEL
# variants/MK3S.h FILAMENT_SIZE, pins_Einsy_1_0.h ELECTRONICS, MK3S.h NOZZLE_TYPE
REVISION = "1_75mm_MK3S-EINSy_10a-E3Dv6full"
MESH_POINTS = 7  # variants/MK3S.h MESH_NUM_X_POINTS / MESH_NUM_Y_POINTS

_NUMBER = r"([-+]?\d*\.?\d+)"


def _value(text: str, letter: str) -> float | None:
    """Marlin code_seen()+code_value(): the number after the first `letter`, if any."""
    at = text.find(letter, 1)
    if at < 0:
        return None
    match = re.match(_NUMBER, text[at + 1 :].lstrip())
    return float(match.group(1)) if match else 0.0


def _seen(text: str, letter: str) -> bool:
    return text.find(letter, 1) >= 0


def _reply(cmd: Command, done_s: float, lines: list[str]) -> Run:
    return Run(cmd, done_s, reply=lambda _t: lines)


# --- PRUSA <sub-command> -------------------------------------------------------------------
def _prusa(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # Marlin_main.cpp process_commands(), `strncmp_P(..., PSTR("PRUSA"), 5)`: the first
    # code_seen_P() match in this order wins (code_seen_P is a substring search).
    text = cmd.text
    if "FANPINTST" in text:
        return Run(cmd, done_s)
    if "FAN" in text:
        # printf_P(_N("E0:%d RPM\nPRN0:%d RPM\n"), 60*fan_speed[0], 60*fan_speed[1])
        hotend_rpm, print_rpm = _fan_rpms(fw)
        return _reply(cmd, done_s, [f"E0:{hotend_rpm} RPM", f"PRN0:{print_rpm} RPM"])
    if "RESET" in text and "MMURES" not in text:
        # softReset(): the watchdog restarts the board; no `ok`, then `start`.
        return Run(cmd, done_s, send_ok=False, after=lambda _t: fw.reset())
    if "SN" in text:
        # eeprom_read_block(SN, EEPROM_PRUSA_SN, 20); SN[19] ? puts("SN invalid") : puts(SN)
        serial = fw.eeprom.serial_number()
        return _reply(cmd, done_s, ["SN invalid" if serial is None else serial])
    if "Fir" in text:
        return _reply(cmd, done_s, [FW_VERSION_FULL])  # SERIAL_PROTOCOLLNPGM(FW_VERSION_FULL)
    if "Rev" in text:
        # SERIAL_PROTOCOLLNPGM(FILAMENT_SIZE "-" ELECTRONICS "-" NOZZLE_TYPE)
        return _reply(cmd, done_s, [REVISION])
    if "nozzle" in text:
        if _seen(text, "D"):
            return Run(cmd, done_s)
        # SERIAL_PROTOCOLLN((float)eeprom_read_word(EEPROM_NOZZLE_DIAMETER_uM)/1000.0)
        return _reply(cmd, done_s, [_nozzle(fw)])
    # uvlo, MMURES, Lang, Lz, FR, MBL and an unknown sub-command: nothing printed, `ok`.
    return Run(cmd, done_s)


def _nozzle(fw: Firmware) -> str:
    # Arduino Print::println(float) prints two decimals: 400 um -> "0.40"
    return f"{fw.eeprom.u16(ee.NOZZLE_DIAMETER_UM) / 1000.0:.2f}"


# --- M862.x print checking ------------------------------------------------------------------
def _m862(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # Marlin_main.cpp `case 862`: the sub-code after the dot picks the check; `Q` prints
    # the printer's value with SERIAL_PROTOCOLLN, `P` compares (silent when it matches;
    # a mismatch asks the user on the LCD, which the simulator does not model).
    sub = cmd.word.partition(".")[2]
    if not _seen(cmd.text, "Q") or _seen(cmd.text, "P"):
        return Run(cmd, done_s)
    answers = {
        "1": _nozzle(fw),  # eeprom_read_word(EEPROM_NOZZLE_DIAMETER_uM)/1000.0
        "2": str(PRINTER_TYPE),  # nPrinterType(): 302, MMU off
        "3": PRINTER_NAME,  # sPrinterType(): "MK3S"
        "4": FW_VERSION,  # FW_VERSION_STR_P()
        "5": str(GCODE_LEVEL),  # GCODE_LEVEL
    }
    answer = answers.get(sub)
    return Run(cmd, done_s) if answer is None else _reply(cmd, done_s, [answer])


# --- D3 EEPROM ------------------------------------------------------------------------------
def _parse_hex(text: str, limit: int) -> bytes:
    # Dcodes.cpp parse_hex(): pairs of *lowercase* hex digits, spaces skipped, at most 16
    # bytes; the first bad character ends the data.
    out = bytearray()
    chars = iter(text)
    for high in chars:
        if high == " ":
            continue
        low = next(chars, "")
        if len(out) >= limit or not (_is_hex(high) and _is_hex(low)):
            break
        out.append(int(high + low, 16))
    return bytes(out)


def _is_hex(char: str) -> bool:
    return len(char) == 1 and (char.isdigit() or "a" <= char <= "f")


def _d3(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # Dcodes.cpp dcode_core(0, EEPROM_SIZE, eeprom, 3, "EEPROM") with the MK3S build's
    # XFLASH_DUMP (32-bit daddr_t): address `A` (`Ax<hex>` or decimal), count `C`
    # (default: to the end), data `X` (lowercase hex, at most 16 bytes) written first.
    text = cmd.text
    size = fw.eeprom.size
    lines = ["D3 - Read/Write EEPROM"]  # DBG(_N("D%d - Read/Write %S\n"), ...)
    address = 0
    at = text.find("A", 1)
    if at >= 0:
        rest = text[at + 1 :]
        if rest.startswith("x"):
            match = re.match(r"[0-9a-fA-F]+", rest[1:])  # strtol(.., 16)
            address = int(match.group(), 16) if match else 0
        else:
            address = int(_value(text, "A") or 0)
    count = size - address
    counted = _value(text, "C")
    if counted is not None:
        count = int(counted)
    address = min(max(address, 0), size)
    if count < 0 or address + count > size:
        count = size - address
    at = text.find("X", 1)
    if at >= 0:
        data = _parse_hex(text[at + 1 :], 16)
        fw.eeprom.write(address, data)
        count = len(data)
        # DBG(_N("%lu bytes written to %S at address 0x%04lx\n"), count, type, addr)
        lines.append(f"{count} bytes written to EEPROM at address 0x{address:04x}")
    # print_mem(): per 16 bytes `<6 hex digits address> ` then ` <2 hex digits>` per byte
    values = fw.eeprom.read(address, count)
    for offset in range(0, count, 16):
        chunk = values[offset : offset + 16]
        lines.append(f"{address + offset:06x} " + "".join(f" {b:02x}" for b in chunk))
    return _reply(cmd, done_s, lines)


# --- print state and progress ---------------------------------------------------------------
def _m27(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # cardreader.cpp CardReader::getStatus(): "Print saved" while a host print is paused
    # (M601), "SD print paused" for a paused SD print, else the SD file, byte and timer
    # lines while SD printing, else "Not SD printing". SD prints are not simulated.
    line = "Print saved" if fw.machine.paused else "Not SD printing"
    return _reply(cmd, done_s, [line])


def _m73(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # Marlin_main.cpp `case 73`: P/R/Q/S set percent (uint8) and minutes (uint16) in the
    # normal and silent modes, C/D the minutes to the next change (<= 0: unknown, 0xffff);
    # then both modes are printed, percent as `%hhd` (255 -> -1), minutes as `%d`.
    m = fw.machine
    text = cmd.text
    for letter, attr in (("P", "percent_normal"), ("Q", "percent_silent")):
        value = _value(text, letter)
        if value is not None:
            setattr(m, attr, int(value) & 0xFF)
    for letter, attr in (("R", "remaining_normal"), ("S", "remaining_silent")):
        value = _value(text, letter)
        if value is not None:
            setattr(m, attr, int(value) & 0xFFFF)
    for letter, attr in (("C", "change_normal"), ("D", "change_silent")):
        value = _value(text, letter)
        if value is not None:
            setattr(m, attr, 0xFFFF if value <= 0 else int(value) & 0xFFFF)

    def mode_line(mode: str, percent: int, remaining: int, change: int) -> str:
        signed = percent - 256 if percent > 127 else percent
        return (
            f"{mode} MODE: Percent done: {signed}; print time remaining in mins: "
            f"{remaining}; Change in mins: {change}"
        )

    lines = [
        mode_line("NORMAL", m.percent_normal, m.remaining_normal, m.change_normal),
        mode_line("SILENT", m.percent_silent, m.remaining_silent, m.change_silent),
    ]
    return _reply(cmd, done_s, lines)


def _m220(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # Marlin_main.cpp `case 220`: B backs up, S sets, R restores; with none of them
    # printf_P(PSTR("%i%%\n"), feedmultiply).
    m = fw.machine
    text = cmd.text
    seen = False
    if _seen(text, "B"):
        m.saved_feed_percent = m.feed_percent
        seen = True
    value = _value(text, "S")
    if value is not None:
        m.feed_percent = int(value)
        seen = True
    if _seen(text, "R"):
        m.feed_percent = m.saved_feed_percent
        seen = True
    if seen:
        return Run(cmd, done_s)
    return _reply(cmd, done_s, [f"{m.feed_percent}%"])


def _m221(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # Marlin_main.cpp `case 221`: S sets extrudemultiply, else printf_P("%i%%\n", ...).
    value = _value(cmd.text, "S")
    if value is not None:
        fw.machine.flow_percent = int(value)
        return Run(cmd, done_s)
    return _reply(cmd, done_s, [f"{fw.machine.flow_percent}%"])


# --- mesh bed leveling ----------------------------------------------------------------------
def _g80(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # G80 probes the 7x7 mesh (homing first); afterwards mbl.active is set.
    fw.machine.mbl_active = True
    fw.position.home()
    done_s = max(done_s, fw.planner_empty_s() + 2 * fw.config.homing_s)
    return Run(cmd, done_s, busy=True)


def _m420(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # Marlin_main.cpp gcode_G81_M420(): mbl.print() when active (mesh_bed_leveling.cpp:
    # "Num X,Y: 7,7", "Z search height: " STRINGIFY(5.0f), "Measured points:", then the
    # rows from the back, each value as "  %.5f"), else "Mesh bed leveling not active.".
    if not fw.machine.mbl_active:
        return _reply(cmd, done_s, ["Mesh bed leveling not active."])
    row = "".join(f"  {0.0:.5f}" for _ in range(MESH_POINTS))
    lines = [
        f"Num X,Y: {MESH_POINTS},{MESH_POINTS}",
        "Z search height: 5.0f",
        "Measured points:",
        *([row] * MESH_POINTS),
    ]
    return _reply(cmd, done_s, lines)


# --- SD card (an empty card is inserted) ----------------------------------------------------
def _m20(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # Marlin_main.cpp `case 20`: "Begin file list", card.ls(L, T) (nothing: the card is
    # empty), "End file list".
    del fw
    return _reply(cmd, done_s, ["Begin file list", "End file list"])


def _m21(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # cardreader.cpp CardReader::mount(): SERIAL_ECHO_START + "SD card ok".
    fw.machine.sd_mounted = True
    return _reply(cmd, done_s, ["echo:SD card ok"])


def _m22(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # cardreader.cpp CardReader::release(): "echo:SD card released".
    fw.machine.sd_mounted = False
    return _reply(cmd, done_s, ["echo:SD card released"])


def _m23(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # cardreader.cpp openFileReadFilteredGcode(): "echo:Now fresh file: <name>", then
    # (the card being empty) MSG_SD_OPEN_FILE_FAIL "open failed, File: <name>.".
    del fw
    name = cmd.text[3:].strip()
    return _reply(cmd, done_s, [f"echo:Now fresh file: {name}", f"open failed, File: {name}."])


# --- pause state ----------------------------------------------------------------------------
def _pause(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # M601/M25 lcd_pause_print(): the print is paused (M27 then says "Print saved").
    fw.machine.paused = True
    return Run(cmd, done_s)


def _resume(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # M602/M24 lcd_resume_print() when paused.
    fw.machine.paused = False
    return Run(cmd, done_s)


# --- fans, position, auto-report ------------------------------------------------------------
def _fan_rpms(fw: Firmware) -> tuple[int, int]:
    # The hotend fan runs when the hotend is above EXTRUDER_AUTO_FAN_TEMPERATURE (50 C);
    # tachometers count revolutions per second, printed x60.
    hot = fw.tools[fw.active_tool].temp_c(fw.now_s) >= 50.0
    hotend_rpm = 60 * 115 if hot else 0
    print_rpm = 60 * round(fw.machine.fan_speed * 100 / 255)
    return hotend_rpm, print_rpm


def fan_report(fw: Firmware) -> str:
    # Marlin_main.cpp gcode_M123():
    # printf_P(_N("E0:%d RPM PRN1:%d RPM E0@:%u PRN1@:%u\n"), ..., newFanSpeed, fanSpeed)
    hotend_rpm, print_rpm = _fan_rpms(fw)
    hotend_pwm = 255 if hotend_rpm else 0
    return f"E0:{hotend_rpm} RPM PRN1:{print_rpm} RPM E0@:{hotend_pwm} PRN1@:{fw.machine.fan_speed}"


def position_report(position: Position) -> str:
    # Marlin_main.cpp gcode_M114(): SERIAL_PROTOCOL(float) is two decimals; the `Count`
    # part (stepper positions in mm) has a space after `Count X:` (MSG_COUNT_X).
    x, y, z, e = position.mm
    return f"X:{x:.2f} Y:{y:.2f} Z:{z:.2f} E:{e:.2f} Count X: {x:.2f} Y:{y:.2f} Z:{z:.2f} E:{e:.2f}"


def autoreport(fw: Firmware, now_s: float) -> list[str]:
    # Marlin_main.cpp host_autoreport(): temperatures (gcode_M105 without `ok`), then the
    # position (gcode_M114), then the fans (gcode_M123), by the M155 C bit mask 1/4/2.
    mask = fw.machine.report_mask
    lines: list[str] = []
    if mask & 1:
        lines.append(fw.spec.temps(fw.tools, fw.bed, fw.active_tool, now_s))
    if mask & 4:
        lines.append(position_report(fw.position))
    if mask & 2:
        lines.append(fan_report(fw))
    return lines


def _m155(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # Marlin_main.cpp `case 155`: S sets the period in seconds (0: off), C the mask;
    # without C the mask is 1 (temperatures only, for OctoPrint).
    if not fw.config.auto_report:
        lines = fw.spec.unknown(cmd.text)
        return _reply(cmd, done_s, lines)
    seconds = _value(cmd.text, "S")
    if seconds is not None:
        fw.report_every_s = max(0.0, seconds)
        fw.next_report_s = fw.now_s + seconds if seconds > 0 else float("inf")
    mask = _value(cmd.text, "C")
    fw.machine.report_mask = int(mask) & 0xFF if mask is not None else 1
    return Run(cmd, done_s)


def _m114(fw: Firmware, cmd: Command, done_s: float) -> Run:
    line = position_report(fw.position)
    return _reply(cmd, done_s, [line])


def _m123(fw: Firmware, cmd: Command, done_s: float) -> Run:
    line = fan_report(fw)
    return _reply(cmd, done_s, [line])


def _m106(fw: Firmware, cmd: Command, done_s: float) -> Run:
    value = _value(cmd.text, "S")
    fw.machine.fan_speed = 255 if value is None else min(255, max(0, int(value)))
    return Run(cmd, done_s)


def _m107(fw: Firmware, cmd: Command, done_s: float) -> Run:
    fw.machine.fan_speed = 0
    return Run(cmd, done_s)


def _m72(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # Marlin_main.cpp `case 72`: S0 not ready, S1 ready; without S
    # printf_P(_N("PrinterState: %d\n"), GetPrinterState()).
    value = _value(cmd.text, "S")
    if value is None:
        return _reply(cmd, done_s, [f"PrinterState: {fw.machine.printer_state}"])
    if int(value) in (0, 1):
        # printer_state.h: PrinterState::NotReady = 0, IsReady = 1
        fw.machine.printer_state = int(value)
    return Run(cmd, done_s)


def _m115(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # Marlin_main.cpp `case 115`: V prints FW_VERSION_STR_P(); U<version> compares
    # (show_upgrade_dialog_if_version_newer(): only the LCD speaks, and only when the G-code
    # wants a newer firmware); else the FIRMWARE_NAME line and the capabilities.
    if _seen(cmd.text, "V"):
        return _reply(cmd, done_s, [FW_VERSION])
    if _seen(cmd.text, "U"):
        return Run(cmd, done_s)
    cfg = fw.config
    lines = fw.spec.m115(cfg.hotends, cfg.auto_report, cfg.emergency_parser)
    return _reply(cmd, done_s, lines)


def _plain(fw: Firmware, cmd: Command, done_s: float) -> Run:
    del fw
    return Run(cmd, done_s)


def unknown(cmd: str) -> list[str]:
    # Marlin_main.cpp: printf_P(MSG_UNKNOWN_CODE, 'G'|'M'|'D', cmdbuffer...) with
    # messages.cpp MSG_UNKNOWN_CODE "Unknown %c code: %s\n" (no `echo:`); any other word:
    # SERIAL_ECHO_START, MSG_UNKNOWN_COMMAND `Unknown command: "`, the command, `"(2)`.
    first = cmd[:1].upper()
    if first in ("G", "M", "D"):
        return [f"Unknown {first} code: {cmd}"]
    return [f'echo:Unknown command: "{cmd}"(2)']


COMMANDS: Mapping[str, Handler] = {
    "PRUSA": _prusa,
    **{f"M862.{i}": _m862 for i in range(1, 7)},
    "D3": _d3,
    "M27": _m27,
    "M73": _m73,
    "M220": _m220,
    "M221": _m221,
    "G80": _g80,
    "M420": _m420,
    "M20": _m20,
    "M21": _m21,
    "M22": _m22,
    "M23": _m23,
    "M24": _resume,
    "M25": _pause,
    "M601": _pause,
    "M602": _resume,
    "M603": _resume,
    "M114": _m114,
    "M123": _m123,
    "M155": _m155,
    "M106": _m106,
    "M107": _m107,
    "M72": _m72,
    "M115": _m115,
    # Accepted silently: M79 host keep-alive timer (S"PL"), M552 IP address for the LCD,
    # M75/M76/M77 print job timer.
    "M79": _plain,
    "M552": _plain,
    "M75": _plain,
    "M76": _plain,
    "M77": _plain,
}
