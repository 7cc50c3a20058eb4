"""Pure mapping from what Klipper and Moonraker report to our statuses, temperatures and
progress. No I/O: the driver feeds in the merged status of Klipper's objects and gets
values back, so every mapping is tested with Klipper's real values and no server.

Sources (Klipper at the pinned commit in docs/moonraker.md): `print_stats.state` is one
of standby, printing, paused, complete, cancelled, error (klippy/extras/print_stats.py);
`webhooks.state` is Klippy's startup, ready, shutdown or error with `state_message`
(klippy/webhooks.py, klippy/klippy.py); Moonraker adds disconnected when it has no Klippy
(moonraker/components/klippy_connection.py). `idle_timeout.state` is "Printing" while
Klipper runs any G-code, "Ready" or "Idle" otherwise (klippy/extras/idle_timeout.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.drivers.base import JobProgress, Temperatures
from shared.enums import PrinterStatus

# Objects every subscription asks for (None: all their fields), besides the heaters and
# sensors that `heaters.available_sensors` names.
BASE_OBJECTS: dict[str, list[str] | None] = {
    "webhooks": None,
    "print_stats": None,
    "virtual_sdcard": None,
    "display_status": None,
    "idle_timeout": ["state"],
    "heaters": ["available_sensors"],
}
_TEMPERATURE_FIELDS = ["temperature", "target"]
JOB_STATES = frozenset({"printing", "paused"})
ENDED_STATES = frozenset({"complete", "cancelled", "error"})


def subscription(
    known_objects: Iterable[str], sensors: Iterable[str]
) -> dict[str, list[str] | None]:
    """What to subscribe to: the base objects and every heater and sensor, where present."""
    known = set(known_objects)
    wanted: dict[str, list[str] | None] = {
        name: fields for name, fields in BASE_OBJECTS.items() if name in known
    }
    for name in sensors:
        if name in known:
            wanted[name] = _TEMPERATURE_FIELDS
    return wanted


def sensor_names(status: Mapping[str, Any]) -> list[str]:
    heaters = status.get("heaters")
    names = heaters.get("available_sensors") if isinstance(heaters, Mapping) else None
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def merge(status: dict[str, dict[str, Any]], update: Mapping[str, Any]) -> None:
    """Apply a `notify_status_update` diff (only the fields that changed) in place."""
    for name, fields in update.items():
        if isinstance(fields, Mapping):
            status.setdefault(name, {}).update(fields)


@dataclass(frozen=True, slots=True)
class Observation:
    """The parts of Klipper's state the driver decides on, read once per update."""

    klippy: str  # startup | ready | shutdown | error | disconnected
    klippy_message: str
    print_state: str  # standby | printing | paused | complete | cancelled | error | ""
    filename: str
    print_message: str
    progress: float  # 0..1 of the file
    # 0..1 of the print's time where the slicer says (M73 P…, display_status), else of the
    # file: the better base for the time left (a file's bytes do not pass at an even pace).
    time_progress: float
    file_position: int
    file_size: int
    total_duration_s: float
    print_duration_s: float
    running_gcode: bool  # idle_timeout says Printing: a macro or a console command runs


def observe(klippy_state: str, status: Mapping[str, Mapping[str, Any]]) -> Observation:
    webhooks = status.get("webhooks", {})
    stats = status.get("print_stats", {})
    sdcard = status.get("virtual_sdcard", {})
    progress = min(1.0, max(0.0, _number(sdcard.get("progress"))))
    display = status.get("display_status", {}).get("progress")
    time_progress = min(1.0, max(0.0, _number(display))) if display is not None else progress
    # Moonraker's "disconnected" wins: webhooks keeps the last state Klippy reported.
    klippy = klippy_state
    if klippy_state != "disconnected":
        klippy = _text(webhooks.get("state")) or klippy_state
    return Observation(
        klippy=klippy,
        klippy_message=_text(webhooks.get("state_message")),
        print_state=_text(stats.get("state")),
        filename=_text(stats.get("filename")),
        print_message=_text(stats.get("message")),
        progress=progress,
        time_progress=time_progress,
        file_position=int(_number(sdcard.get("file_position"))),
        file_size=int(_number(sdcard.get("file_size"))),
        total_duration_s=_number(stats.get("total_duration")),
        print_duration_s=_number(stats.get("print_duration")),
        running_gcode=_text(status.get("idle_timeout", {}).get("state")) == "Printing",
    )


def first_line(message: str) -> str:
    """Klipper's shutdown text explains the FIRMWARE_RESTART ritual after the cause."""
    for line in message.splitlines():
        if line.strip():
            return line.strip()
    return ""


def printer_status(obs: Observation) -> tuple[PrinterStatus, str | None]:
    """Our status and the reason a person can act on, outside our own job."""
    match obs.klippy:
        case "disconnected":
            return (
                PrinterStatus.OFFLINE,
                "Moonraker is not connected to Klipper (is klippy running?)",
            )
        case "startup":
            return PrinterStatus.BUSY, "Klipper is starting"
        case "shutdown":
            return (
                PrinterStatus.ERROR,
                f"Klipper shut down: {first_line(obs.klippy_message) or 'no reason given'}",
            )
        case "error":
            return (
                PrinterStatus.ERROR,
                f"Klipper error: {first_line(obs.klippy_message) or 'no reason given'}",
            )
        case "ready":
            pass
        case _:
            return PrinterStatus.BUSY, f"Klipper reports an unknown state {obs.klippy!r}"
    if obs.print_state == "printing":
        return PrinterStatus.PRINTING, None
    if obs.print_state == "paused":
        return PrinterStatus.PAUSED, None
    if obs.running_gcode:
        # A macro or console command is running (a G28, a heat-up): not ready for a job.
        return PrinterStatus.BUSY, "Klipper is running G-code"
    # standby, or the result of the last print (complete, cancelled, error): ready.
    return PrinterStatus.IDLE, None


def remaining_s(progress: float, elapsed_s: float, slicer_estimate_s: float | None) -> float | None:
    """Time left: the slicer's estimate early on, the file's pace later, blended by progress.

    The file's pace (elapsed / progress) is noise at 1 % and good at 50 %; the slicer's
    estimate is the reverse once the printer runs faster or slower than it assumed.
    """
    by_slicer = slicer_estimate_s * (1.0 - progress) if slicer_estimate_s else None
    by_pace = (
        elapsed_s * (1.0 - progress) / progress if progress >= 0.01 and elapsed_s > 0 else None
    )
    if by_slicer is None:
        return by_pace
    if by_pace is None:
        return by_slicer
    return (1.0 - progress) * by_slicer + progress * by_pace


def job_progress(job_id: str, obs: Observation, slicer_estimate_s: float | None) -> JobProgress:
    return JobProgress(
        job_id=job_id,
        progress_pct=round(obs.progress * 100.0, 3),
        elapsed_s=obs.total_duration_s,
        remaining_s=remaining_s(obs.time_progress, obs.total_duration_s, slicer_estimate_s),
        bytes_done=obs.file_position,
        bytes_total=obs.file_size,
    )


def _reading(fields: Mapping[str, Any] | None) -> tuple[float | None, float | None]:
    if not isinstance(fields, Mapping):
        return None, None
    actual, target = fields.get("temperature"), fields.get("target")
    return (
        float(actual) if isinstance(actual, int | float) else None,
        float(target) if isinstance(target, int | float) else None,
    )


def temperatures_from(status: Mapping[str, Mapping[str, Any]]) -> Temperatures:
    """Every heater and sensor Klipper reports.

    `extruder` is the hotend, `extruder1`… further tools (T1…), `heater_bed` the bed, and a
    heater or sensor whose name is "chamber" the chamber; all others go to `sensors` under
    their object name (e.g. "temperature_sensor mcu_temp", "heater_generic dryer").
    """
    hotend, hotend_target = _reading(status.get("extruder"))
    bed, bed_target = _reading(status.get("heater_bed"))
    chamber: tuple[float | None, float | None] = (None, None)
    tools: dict[str, tuple[float, float | None]] = {}
    sensors: dict[str, tuple[float, float | None]] = {}
    for name in sensor_names(status):
        if name in ("extruder", "heater_bed"):
            continue
        actual, target = _reading(status.get(name))
        if actual is None:
            continue
        if name.startswith("extruder") and name[8:].isdigit():
            tools[f"T{int(name[8:])}"] = (actual, target)
        elif name.split(" ", 1)[-1] == "chamber" and chamber[0] is None:
            chamber = (actual, target)
        else:
            sensors[name] = (actual, target)
    return Temperatures(
        hotend_c=hotend,
        hotend_target_c=hotend_target,
        bed_c=bed,
        bed_target_c=bed_target,
        chamber_c=chamber[0],
        chamber_target_c=chamber[1],
        extra_tools=tools,
        sensors=sensors,
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
