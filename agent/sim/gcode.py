"""What the simulated firmware does with each command, and how long it takes.

`start()` turns the head of the command queue into a `Run`: when it will be done, what it
prints before its `ok`, whether it counts as busy. Effects that happen at once (a new
target temperature) are applied here; the firmware loop does the timing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.sim.heaters import Heater
from agent.sim.state import Command, Run

if TYPE_CHECKING:
    from agent.sim.firmware import Firmware

_PARAM = re.compile(r"([A-Z])\s*([-+]?\d*\.?\d+)")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Accepted without a visible effect beyond `ok` (motion modes, fans, feed overrides, …).
_PLAIN = _words(
    "G4 G10 G11 G17 G18 G19 G20 G21 G28 G29 G90 G91 G92 M17 M18 M31 M73 M75 M76 M77 M80 M81 M82 "
    "M83 M84 M85 M92 M106 M107 M108 M110 M111 M113 M114 M117 M118 M119 M120 M121 M164 M200 "
    "M201 M203 M204 M205 M206 M207 M208 M209 M211 M217 M218 M220 M221 M226 M280 M290 M300 "
    "M301 M302 M303 M304 M355 M400 M404 M405 M406 M407 M410 M412 M413 M420 M500 M501 M502 "
    "M503 M504 M524 M569 M575 M593 M600 M665 M666 M851 M862 M862.1 M862.2 M862.3 M862.4 "
    "M862.5 M876 M900 M906 M907 M913 M914 M999 M21 M22 M20 M23 M24 M25 M26 M27 M155"
)
# What a stock Klipper config answers (docs/G-Codes.md; virtual_sdcard, pause_resume).
_KLIPPER_KNOWN = _words(
    "G0 G1 G2 G3 G4 G28 G90 G91 G92 M17 M18 M20 M21 M23 M24 M25 M26 M27 M82 M83 M84 M104 "
    "M105 M106 M107 M109 M110 M112 M114 M115 M117 M118 M140 M190 M204 M220 M221 M400 T0 "
    "PAUSE RESUME CANCEL_PRINT CLEAR_PAUSE FIRMWARE_RESTART RESTART STATUS HELP ECHO "
    "SET_HEATER_TEMPERATURE TURN_OFF_HEATERS BED_MESH_CALIBRATE SET_GCODE_OFFSET "
    "SET_VELOCITY_LIMIT SAVE_CONFIG QUERY_ENDSTOPS GET_POSITION"
)
_MOVES = frozenset(("G0", "G1", "G2", "G3", "G5"))
Handler = Callable[["Firmware", Command, float], Run]


def params(text: str) -> dict[str, float]:
    """Numeric parameters after the command word: `M104 T1 S200` -> {T: 1, S: 200}."""
    body = text.split(None, 1)[1] if " " in text else text[2:]
    return {key: float(value) for key, value in _PARAM.findall(body.upper())}


def start(fw: Firmware, cmd: Command) -> Run:
    word = cmd.word
    done_s = fw.now_s + fw.processing_s
    if word in _MOVES and fw.shutdown_reason is None:
        run = _move(fw, cmd, done_s)  # the hot path: most of a print is moves
    elif fw.shutdown_reason is not None:
        return _while_shutdown(fw, cmd, done_s)
    elif not word:
        return Run(cmd, done_s, record=False)  # Klipper's ack of an empty line
    else:
        run = _dispatch(fw, cmd, done_s)
    every_n = fw.config.busy_every_n
    if every_n and (fw.counters.executed + 1) % every_n == 0:
        # An injected busy period: the command takes busy_s longer, with keep-alives.
        run.done_s += fw.config.busy_s
        run.busy = True
    return run


def _dispatch(fw: Firmware, cmd: Command, done_s: float) -> Run:
    word = cmd.word
    handler = handler_for(fw, word)
    if handler is not None and (word in _ALWAYS or word in fw.spec.commands or _known(fw, word)):
        return handler(fw, cmd, done_s)
    if _known(fw, word):
        return Run(cmd, done_s)
    lines = fw.spec.unknown(cmd.text)
    return Run(cmd, done_s, reply=lambda _t: lines)


def _known(fw: Firmware, word: str) -> bool:
    if fw.spec.check_style == "ignore":
        return word in _KLIPPER_KNOWN
    return word in _PLAIN or (word.startswith("T") and word[1:].isdigit())


def _move(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # A move is "processed" once it is in the planner; while all blocks are busy the
    # command waits for the oldest to finish (Marlin's natural back-pressure, §1.1).
    move_s = fw.move_s
    if move_s > 0:
        fw.planner_free()
        if len(fw.planner) >= fw.config.planner_blocks - 1:
            done_s = max(done_s, fw.planner[0] + fw.processing_s)
        fw.planner.append(max(done_s, fw.planner_empty_s()) + move_s)
    fw.position.move(cmd.text)
    return Run(cmd, done_s)


def _tool(fw: Firmware, values: dict[str, float]) -> Heater:
    index = int(values.get("T", fw.active_tool))
    return fw.tools[min(max(index, 0), len(fw.tools) - 1)]


def _set_hotend(fw: Firmware, cmd: Command, done_s: float) -> Run:
    values = params(cmd.text)
    if "S" in values:
        _tool(fw, values).set_target(values["S"], fw.now_s)
    return Run(cmd, done_s)


def _set_bed(fw: Firmware, cmd: Command, done_s: float) -> Run:
    values = params(cmd.text)
    if "S" in values:
        fw.bed.set_target(values["S"], fw.now_s)
    return Run(cmd, done_s)


def _wait_heater(fw: Firmware, cmd: Command, heater: Heater, values: dict[str, float]) -> Run:
    # M109/M190: `S` waits only while heating, `R` also while cooling (Marlin docs).
    target = values.get("S", values.get("R"))
    if target is not None:
        heater.set_target(target, fw.now_s)
    reached_s = heater.reached_at(fw.now_s, wait_cooling="R" in values)
    done_s = max(fw.now_s + fw.processing_s, fw.config.residency_s + reached_s)
    # Marlin prints the first report as soon as it starts waiting, then once a second.
    waiting = done_s > fw.now_s + fw.processing_s
    tick_s = fw.now_s if fw.spec.heating_tick is not None and waiting else 1e300
    return Run(cmd, done_s, waits_heater=heater, tick_s=tick_s)


def _m109(fw: Firmware, cmd: Command, done_s: float) -> Run:
    del done_s
    values = params(cmd.text)
    return _wait_heater(fw, cmd, _tool(fw, values), values)


def _m190(fw: Firmware, cmd: Command, done_s: float) -> Run:
    del done_s
    return _wait_heater(fw, cmd, fw.bed, params(cmd.text))


def heating_tick(fw: Firmware, run: Run) -> None:
    """One temperature line while M109/M190 waits (Marlin: once a second)."""
    assert fw.spec.heating_tick is not None and run.waits_heater is not None
    t = fw.now_s
    fw.emit(fw.spec.heating_tick(fw.tools, fw.bed, fw.active_tool, t, run.waits_heater))
    run.tick_s = t + 1.0 if t + 1.0 < run.done_s else 1e300


def _m105(fw: Firmware, cmd: Command, done_s: float) -> Run:
    spec = fw.spec

    def report(t: float) -> str:
        return spec.temps(fw.tools, fw.bed, fw.active_tool, t)

    # Every dialect answers M105 on the `ok` line itself (`ok T:…`).
    return Run(cmd, done_s, ok_extra=report)


def _m115(fw: Firmware, cmd: Command, done_s: float) -> Run:
    cfg = fw.config
    lines = fw.spec.m115(cfg.hotends, cfg.auto_report, cfg.emergency_parser)
    if fw.spec.m115_on_ok:
        return Run(cmd, done_s, ok_extra=lambda _t: " ".join(lines))
    return Run(cmd, done_s, reply=lambda _t: lines)


def _m155(fw: Firmware, cmd: Command, done_s: float) -> Run:
    if fw.spec.autoreport_prefix is None or not fw.config.auto_report:
        lines = fw.spec.unknown(cmd.text)
        return Run(cmd, done_s, reply=lambda _t: lines)
    seconds = params(cmd.text).get("S", 0.0)
    fw.report_every_s = max(0.0, seconds)
    fw.next_report_s = fw.now_s + seconds if seconds > 0 else float("inf")
    return Run(cmd, done_s)


def _m110(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # Marlin M110.cpp / Prusa: `if (seen N) last_N = N` at *processing* time, after the
    # line check already did the same. A host that sends numbered lines behind an M110
    # before its `ok` trips over this on real firmware too.
    values = params(cmd.text)
    if "N" in values and fw.spec.check_style == "marlin":
        fw.last_n = int(values["N"])
    return Run(cmd, done_s)


def _m400(fw: Firmware, cmd: Command, done_s: float) -> Run:
    done_s = max(done_s, fw.planner_empty_s())
    return Run(cmd, done_s, busy=done_s > fw.now_s + fw.config.keepalive_s)


def _g4(fw: Firmware, cmd: Command, done_s: float) -> Run:
    values = params(cmd.text)
    dwell_s = values.get("S", values.get("P", 0.0) / 1000.0)
    return Run(cmd, max(done_s, fw.planner_empty_s() + dwell_s), busy=True)


def _g28(fw: Firmware, cmd: Command, done_s: float) -> Run:
    fw.position.home()
    return Run(cmd, max(done_s, fw.planner_empty_s() + fw.config.homing_s), busy=True)


def _m114(fw: Firmware, cmd: Command, done_s: float) -> Run:
    if fw.spec.check_style == "marlin":
        line = fw.position.marlin_report()
    else:
        line = fw.position.klipper_report()
    return Run(cmd, done_s, reply=lambda _t: [line])


def _positioning(absolute_xyz: bool | None, absolute_e: bool) -> Handler:
    def handler(fw: Firmware, cmd: Command, done_s: float) -> Run:
        if absolute_xyz is not None:
            fw.position.absolute_xyz = absolute_xyz
        fw.position.absolute_e = absolute_e
        return Run(cmd, done_s)

    return handler


def _g92(fw: Firmware, cmd: Command, done_s: float) -> Run:
    fw.position.set_here(cmd.text)
    return Run(cmd, done_s)


def _select_tool(fw: Firmware, cmd: Command, done_s: float) -> Run:
    index = int(cmd.word[1:])
    if index >= len(fw.tools):
        message = f"echo:T{index} Invalid extruder"
        return Run(cmd, done_s, reply=lambda _t: [message])
    fw.active_tool = index
    return Run(cmd, done_s)


def _restart(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # Klipper FIRMWARE_RESTART/RESTART: no `ok`; the firmware comes back and says so.
    return Run(cmd, done_s, send_ok=False, after=lambda _t: fw.reset())


def _while_shutdown(fw: Firmware, cmd: Command, done_s: float) -> Run:
    # klippy cmd_default() when not ready: the state message as `//` lines, then
    # `!! <reason>`, then `ok`; M105 answers `ok T:0`; a restart command works.
    if cmd.word in ("FIRMWARE_RESTART", "RESTART"):
        return _restart(fw, cmd, done_s)
    if cmd.word == "M105":
        return Run(cmd, done_s, ok_extra=lambda _t: "T:0", record=False)
    if cmd.word in ("M110", "M115"):
        return _HANDLERS[cmd.word](fw, cmd, done_s)
    reason = fw.shutdown_reason or "Printer is shutdown"
    lines = [
        f"// {reason}",
        '// Once the underlying issue is corrected, use the "FIRMWARE_RESTART" command to '
        "reset the firmware, reload the config, and restart the host software.",
        "// Printer is shutdown",
        f"!! {reason}",
    ]
    return Run(cmd, done_s, reply=lambda _t: lines, record=False)


def emergency(fw: Firmware, word: str) -> None:
    """M112/M108/M410 acted on as they arrive (EMERGENCY_PARSER; Klipper's pty reader)."""
    if word == "M112":
        if fw.dead or fw.shutdown_reason is not None:
            return
        fw.record_now("M112")
        reason = "Shutdown due to M112 command" if fw.spec.halt_style == "shutdown" else "M112"
        fw.halt(reason)
    elif word == "M108" and fw.run is not None and fw.run.waits_heater is not None:
        # M108 breaks the M109/M190 wait (wait_for_heatup = false).
        fw.run.done_s = fw.now_s
        fw.run.tick_s = 1e300
    elif word == "M410":
        fw.planner.clear()


def _with_action(
    base: Callable[[Firmware, Command, float], Run], action: str
) -> Callable[[Firmware, Command, float], Run]:
    def handler(fw: Firmware, cmd: Command, done_s: float) -> Run:
        run = base(fw, cmd, done_s)
        line = f"{fw.spec.action_prefix}{action}"
        previous = run.reply
        run.reply = lambda t: [line, *(previous(t) if previous else [])]
        return run

    return handler


def _plain(fw: Firmware, cmd: Command, done_s: float) -> Run:
    del fw
    return Run(cmd, done_s)


# Handled in every dialect, whatever its list of known commands says.
_ALWAYS = frozenset(
    (
        "M104",
        "M140",
        "M109",
        "M190",
        "M105",
        "M115",
        "M155",
        "M110",
        "M601",
        "M602",
        "M603",
        "PAUSE",
        "RESUME",
        "CANCEL_PRINT",
    )
)

_HANDLERS: dict[str, Handler] = {
    "M104": _set_hotend,
    "M140": _set_bed,
    "M109": _m109,
    "M190": _m190,
    "M105": _m105,
    "M115": _m115,
    "M155": _m155,
    "M110": _m110,
    "M400": _m400,
    "G4": _g4,
    "G28": _g28,
    "M114": _m114,
    "G90": _positioning(True, True),
    "G91": _positioning(False, False),
    "M82": _positioning(None, True),
    "M83": _positioning(None, False),
    "G92": _g92,
    "FIRMWARE_RESTART": _restart,
    "RESTART": _restart,
    **{f"T{i}": _select_tool for i in range(10)},
}


def handler_for(fw: Firmware, word: str) -> Callable[[Firmware, Command, float], Run] | None:
    """The dialect's host-action commands (M601 on Prusa, PAUSE on Klipper) wrap the rest."""
    handler = fw.spec.commands.get(word) or _HANDLERS.get(word)
    for command, action in fw.spec.actions:
        if command == word:
            return _with_action(handler or _plain, action)
    return handler
