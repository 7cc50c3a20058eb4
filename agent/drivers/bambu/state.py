"""Pure mapping from a Bambu Lab printer's reports to our statuses, temperatures, materials.

The driver keeps the printer's `print` object whole with `merge_report` (report.py) and
feeds it here; nothing in this module does I/O, reads a clock or raises on odd input: a
field of the wrong type reads as absent, so a new firmware cannot crash the driver.

Sources: `gcode_state` is one of IDLE, PREPARE, RUNNING, PAUSE, FINISH, FAILED, SLICING,
INIT, OFFLINE (bambu-rs docs/protocol.md "Report"; ha-bambulab pybambu/const.py); after a
job FINISH or FAILED stays with the last progress; `mc_remaining_time` is in minutes
(peers/bambu/README.md §9). Newer firmware (X1 01.09, P2S, H2D) adds a `device` object
whose temperatures pack the actual value in the low 16 bits and the target in the high 16
(Bambu Studio's parsers, cited where used). The H2D captures agree: `device.bed.info.temp`
6553700 = 0x0064_0064 (target 100, actual 100) next to `bed_temper` 100 and
`bed_target_temper` 100; `device.ctc.info.temp` 3932208 = 0x003C_0030 (60, 48) next to
`ctt` 60; P2S `extruder.info[0].temp` 16711934 = 0x00FF_00FE next to `nozzle_temper` 254
and `nozzle_target_temper` 255.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.drivers.bambu.errors import (
    CANCELLED_ERROR,
    HmsEntry,
    hms_entries,
    hms_messages,
    print_error_message,
)
from agent.drivers.bambu.report import merge_report
from agent.drivers.base import JobProgress, LoadedMaterial, Temperatures
from shared.enums import PrinterStatus

__all__ = [
    "CANCELLED_ERROR",
    "ENDED_STATES",
    "JOB_STATES",
    "Observation",
    "firmware",
    "has_chamber_sensor",
    "job_progress",
    "materials",
    "merge_report",
    "model_name",
    "observe",
    "print_error_message",
    "printer_status",
    "temperatures",
]

JOB_STATES = frozenset({"PREPARE", "RUNNING", "PAUSE", "SLICING"})
ENDED_STATES = frozenset({"FINISH", "FAILED"})
_U32 = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Observation:
    """The parts of one (merged) report the driver decides a job's life on."""

    gcode_state: str  # upper-cased; "" until a report says
    progress_pct: float  # mc_percent, 0..100
    remaining_s: float | None  # mc_remaining_time, sent in minutes
    layer: int | None  # layer_num
    total_layers: int | None  # total_layer_num
    subtask_name: str  # the job's name (project_file's `subtask_name`)
    gcode_file: str  # the file printed ("/data/Metadata/plate_1.gcode" inside a 3MF)
    print_error: int  # 0 when there is none; CANCELLED_ERROR after a cancel
    hms: tuple[HmsEntry, ...]
    stage: int | None  # stg_cur: what the printer does now (homing, heating, …)
    # gcode_file_prepare_percent: how much of the file the printer has taken in PREPARE.
    prepare_pct: float | None

    @property
    def cancelled(self) -> bool:
        return self.print_error == CANCELLED_ERROR


def observe(report: Mapping[str, Any]) -> Observation:
    report = _mapping(report)
    remaining_min = _number(report.get("mc_remaining_time"))
    error = _int(report.get("print_error"))
    return Observation(
        gcode_state=_text(report.get("gcode_state")).strip().upper(),
        progress_pct=min(100.0, _number(report.get("mc_percent")) or 0.0),
        remaining_s=remaining_min * 60.0 if remaining_min is not None else None,
        layer=_count(report.get("layer_num")),
        total_layers=_count(report.get("total_layer_num")),
        subtask_name=_text(report.get("subtask_name")),
        gcode_file=_text(report.get("gcode_file")),
        print_error=error & _U32 if error is not None else 0,
        hms=hms_entries(report.get("hms")),
        stage=_int(report.get("stg_cur")),
        prepare_pct=_percent_text(report.get("gcode_file_prepare_percent")),
    )


def printer_status(obs: Observation) -> tuple[PrinterStatus, str | None]:
    """Our status and a reason a person can act on, outside our own job.

    While a job runs (PREPARE, RUNNING, SLICING) HMS alerts do not change the status: the
    printer itself pauses on a serious alert and stops on a fatal one (Bambu's wiki, "HMS
    introduced"), and the next report says so. Outside a job, a fatal or serious alert
    blocks the next print (it "must be eliminated before starting a task"), so it is an
    error; lesser alerts become the message only.
    """
    state = obs.gcode_state
    if state in ("PREPARE", "RUNNING", "SLICING"):
        return PrinterStatus.PRINTING, None
    if state == "PAUSE":
        return PrinterStatus.PAUSED, _join(_error_text(obs), *hms_messages(obs.hms))
    if state == "OFFLINE":
        return PrinterStatus.OFFLINE, "the printer reports itself offline"
    blocking = [entry for entry in obs.hms if entry.severity.blocks_printing]
    if blocking:
        return PrinterStatus.ERROR, _join(*hms_messages(blocking))
    notes = hms_messages(obs.hms)
    match state:
        case "IDLE" | "FINISH":
            # FINISH keeps the last print's result on screen; the printer takes a new job.
            return PrinterStatus.IDLE, _join(_error_text(obs), *notes)
        case "FAILED":
            reason = _error_text(obs)
            return PrinterStatus.IDLE, _join(reason and f"the last print failed: {reason}", *notes)
        case "INIT":
            # Listed among the states (bambu-rs) with no documented meaning beyond its name:
            # the printer is starting, not ready for a job yet.
            return PrinterStatus.BUSY, _join("the printer is starting up", *notes)
        case "":
            return PrinterStatus.BUSY, "the printer has not reported its state yet"
        case _:
            return PrinterStatus.BUSY, f"the printer reports an unknown state {state!r}"


def job_progress(job_id: str, obs: Observation, elapsed_s: float) -> JobProgress:
    """Progress of our job; the printer reports no elapsed time, so the caller's clock."""
    return JobProgress(
        job_id=job_id,
        progress_pct=obs.progress_pct,
        elapsed_s=elapsed_s,
        remaining_s=obs.remaining_s,
        layer=obs.layer,
        layer_count=obs.total_layers,
    )


def _error_text(obs: Observation) -> str | None:
    return None if obs.cancelled else print_error_message(obs.print_error)


def _join(*parts: str | None) -> str | None:
    return "; ".join(part for part in parts if part) or None


# --- temperatures -------------------------------------------------------------------------


def temperatures(report: Mapping[str, Any], *, chamber_sensor: bool = False) -> Temperatures:
    """Nozzle(s), bed and chamber in °C.

    - Nozzles: a one-nozzle printer reports `nozzle_temper`/`nozzle_target_temper` (floats,
      finer than the packed form). With two extruders (`device.extruder.state` bits 0-3;
      H2D) Bambu Studio ignores those (ExtderSystemParser::ParseV1_0 returns unless the
      count is 1) and reads each `device.extruder.info[]` entry's packed `temp` (ParseV2_0).
      So do we: extruder id 0 is the hotend and id 1 the extra tool "T1". Bambu Studio names
      id 0 (MAIN_EXTRUDER_ID) the right extruder and id 1 the left (DevExtder::GetDisplayLoc).
      The H2D capture shows why the top-level value is not used there: `nozzle_temper` 40
      matches extruder 1 while extruder 0 packs 14745864 = 0x00E1_0108 (target 225, actual
      264, at `stg_cur` 14, which ha-bambulab's const.py names "cleaning_nozzle_tip").
    - Bed: `bed_temper`/`bed_target_temper`, else the packed `device.bed_temp` (DevBed.cpp
      ParseV2_0) or `device.bed.info.temp`.
    - Chamber: the packed `device.ctc.info.temp`, which Bambu Studio prefers
      (DevChamber.cpp ParseChamberV2_0). Without it, `chamber_temper` (target `ctt`) only
      when the caller says the model has a chamber sensor (`has_chamber_sensor`): P1 and A1
      printers send a constant 5 there (bambu-rs docs/protocol.md: "not a real sensor";
      every P1P/A1/A1 mini capture here says 5), and ha-bambulab shows a chamber
      temperature only for X1, H2, P2S and X2 models (pybambu/models.py supports_feature).
      A target of 0 means no chamber heater or heater off; both read as no target.
    """
    report = _mapping(report)
    device = _mapping(report.get("device"))
    extruders = _extruders(device)
    hotend = (_number(report.get("nozzle_temper")), _number(report.get("nozzle_target_temper")))
    tools: dict[str, tuple[float, float | None]] = {}
    if _extruder_count(device, extruders) >= 2:
        hotend = extruders.get(0, hotend)
        tools = {f"T{ext_id}": temps for ext_id, temps in sorted(extruders.items()) if ext_id}
    elif hotend[0] is None and 0 in extruders:
        hotend = extruders[0]
    bed = (_number(report.get("bed_temper")), _number(report.get("bed_target_temper")))
    if bed[0] is None:
        packed_bed = _packed(device.get("bed_temp")) or _packed(_info_temp(device.get("bed")))
        bed = packed_bed or bed
    chamber: tuple[float | None, float | None] = (None, None)
    if (ctc := _packed(_info_temp(device.get("ctc")))) is not None:
        chamber = (ctc[0], ctc[1] or None)
    elif chamber_sensor:
        chamber = (_number(report.get("chamber_temper")), _number(report.get("ctt")) or None)
    return Temperatures(
        hotend_c=hotend[0],
        hotend_target_c=hotend[1],
        bed_c=bed[0],
        bed_target_c=bed[1],
        chamber_c=chamber[0],
        chamber_target_c=chamber[1],
        extra_tools=tools,
    )


def _extruders(device: Mapping[str, Any]) -> dict[int, tuple[float, float]]:
    found: dict[int, tuple[float, float]] = {}
    for entry in _mappings(_mapping(device.get("extruder")).get("info")):
        ext_id, temps = _int(entry.get("id")), _packed(entry.get("temp"))
        if ext_id is not None and ext_id >= 0 and temps is not None:
            found[ext_id] = temps
    return found


def _extruder_count(device: Mapping[str, Any], extruders: Mapping[int, object]) -> int:
    state = _int(_mapping(device.get("extruder")).get("state"))
    return state & 0xF if state is not None and state >= 0 else len(extruders)


def _info_temp(part: object) -> object:
    return _mapping(_mapping(part).get("info")).get("temp")


def _packed(value: object) -> tuple[float, float] | None:
    """Low 16 bits the actual °C, high 16 the target (Bambu Studio `get_flag_bits(temp,
    0, 16)` and `(temp, 16, 16)` for bed, chamber and each extruder)."""
    raw = _int(value)
    if raw is None or not 0 <= raw <= _U32:
        return None
    return float(raw & 0xFFFF), float(raw >> 16)


# --- materials ----------------------------------------------------------------------------


def materials(report: Mapping[str, Any]) -> tuple[LoadedMaterial, ...]:
    """Every loaded AMS tray and external spool, in the printer's order.

    AMS units are `ams.ams[]` by `id`: 0-3 for AMS, AMS Lite and AMS 2 Pro ("AMS1"…), 128
    and up for the one-tray AMS HT ("AMS HT1"…; Bambu Studio DevFilaSystem.cpp counts N3S
    units from 128). Trays are numbered from 1 as on the printer's screen. A tray without a
    `tray_type` is empty (the X1C capture's unit 2 tray 0 is only `{"id", "state"}`).
    The external spool is `vt_tray` on one-nozzle printers; newer firmware sends
    `vir_slot[]` instead, ids 255 and 254, which on a two-extruder printer feed extruder 0
    (right) and 1 (left) (Bambu Studio DevDefs.h VIRTUAL_TRAY_MAIN_ID/DEPUTY_ID and
    DevFilaSystem::GetExtruderIdByAmsId).
    """
    report = _mapping(report)
    found: list[LoadedMaterial] = []
    for unit in _mappings(_mapping(report.get("ams")).get("ams")):
        unit_id = _id(unit.get("id"))
        if unit_id is None:
            continue
        unit_name = f"AMS HT{unit_id - 127}" if unit_id >= 128 else f"AMS{unit_id + 1}"
        for tray in _mappings(unit.get("tray")):
            tray_id = _id(tray.get("id"))
            if tray_id is not None:
                found.extend(_loaded(f"{unit_name} tray {tray_id + 1}", tray, measured=True))
    slots = _mappings(report.get("vir_slot"))
    if slots:
        device = _mapping(report.get("device"))
        split = len(slots) > 1 or _extruder_count(device, _extruders(device)) >= 2
        for slot in slots:
            side = {255: " R", 254: " L"}.get(_id(slot.get("id")) or 0, "") if split else ""
            found.extend(_loaded(f"external{side}", slot, measured=False))
    else:
        found.extend(_loaded("external", _mapping(report.get("vt_tray")), measured=False))
    return tuple(found)


def _loaded(slot: str, tray: Mapping[str, Any], *, measured: bool) -> list[LoadedMaterial]:
    kind = _text(tray.get("tray_type")).strip()
    if not kind:
        return []
    # `remain` is the AMS's estimate in percent, -1 when it cannot tell (Bambu Studio
    # DevFilaSystem.cpp parses it with default -1). An external spool has no sensor: every
    # capture here reports 0 for one that is loaded, so its value is not used.
    remain = _int(tray.get("remain")) if measured else None
    return [
        LoadedMaterial(
            slot=slot,
            material_type=kind,
            color=_color(tray.get("tray_color")),
            remaining_pct=float(remain) if remain is not None and 0 <= remain <= 100 else None,
        )
    ]


def _color(value: object) -> str | None:
    """`tray_color` is RRGGBBAA; alpha 00 (a clear filament) has no colour to show."""
    text = _text(value).strip()
    if len(text) not in (6, 8) or any(c not in "0123456789abcdefABCDEF" for c in text):
        return None
    if len(text) == 8 and text[6:] == "00":
        return None
    return f"#{text[:6].upper()}"


# --- get_version --------------------------------------------------------------------------

# Older firmware names the model only by its code in `project_name` (the A1 and P1P
# captures); the codes are Bambu Studio's model ids (bambu-rs docs/protocol.md "Model
# codes").
_MODEL_CODES = {
    "N1": "Bambu Lab A1 mini",
    "N2S": "Bambu Lab A1",
    "C11": "Bambu Lab P1P",
    "C12": "Bambu Lab P1S",
    "C13": "Bambu Lab X1E",
    "BL-P001": "Bambu Lab X1-Carbon",
    "BL-P002": "Bambu Lab X1",
    "O1D": "Bambu Lab H2D",
}


def model_name(info: Mapping[str, Any]) -> str | None:
    """The model from a `get_version` reply's `ota` module: "Bambu Lab X1-Carbon"."""
    ota = _ota(info)
    product = _text(ota.get("product_name")).strip()
    if product:
        return product
    code = _text(ota.get("project_name")).strip()
    return _MODEL_CODES.get(code, f"Bambu Lab {code}") if code else None


def firmware(info: Mapping[str, Any]) -> str | None:
    """Model and firmware, "Bambu Lab X1-Carbon 01.09.00.01": the `ota` module's `sw_ver`
    is the printer's firmware version (the README's payload table; ha-bambulab reads the
    same module)."""
    version = _text(_ota(info).get("sw_ver")).strip()
    if not version:
        return None
    model = model_name(info)
    return f"{model} {version}" if model else version


def has_chamber_sensor(info: Mapping[str, Any]) -> bool:
    """X1, X2, H2 and P2 models measure the chamber (ha-bambulab pybambu/models.py
    supports_feature CHAMBER_TEMPERATURE); P1 and A1 do not."""
    model = (model_name(info) or "").removeprefix("Bambu Lab ").strip()
    return model.startswith(("X1", "X2", "H2", "P2"))


def _ota(info: Mapping[str, Any]) -> Mapping[str, Any]:
    for module in _mappings(_mapping(info).get("module")):
        if module.get("name") == "ota":
            return module
    return {}


# --- reading values that may be anything --------------------------------------------------


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _mappings(value: object) -> list[Mapping[str, Any]]:
    """The objects in a list; anything else in it is skipped."""
    items = value if isinstance(value, list | tuple) else ()
    return [item for item in items if isinstance(item, Mapping)]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int(value: object) -> int | None:
    """An int of sane size (a 5000-digit int would not even print)."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


def _number(value: object) -> float | None:
    """A finite, non-negative number (temperatures, percentages, minutes)."""
    if isinstance(value, float) and math.isfinite(value) and value >= 0:
        return value
    number = _int(value)
    return float(number) if number is not None and number >= 0 else None


def _count(value: object) -> int | None:
    number = _int(value)
    return number if number is not None and number >= 0 else None


def _id(value: object) -> int | None:
    """AMS and tray ids are decimal strings ("0", "128"), extruder ids ints."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return _count(value)


def _percent_text(value: object) -> float | None:
    number = _number(value)
    if number is None and isinstance(value, str) and value.isascii() and value.isdigit():
        number = float(value) if len(value) <= 9 else None
    return min(100.0, number) if number is not None else None
