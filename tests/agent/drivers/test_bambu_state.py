"""The pure mapping from Bambu Lab reports to our values, against every captured payload.

The payloads are the team's copies of real printers' reports (`../shared/peers/bambu/
payloads/`, or `APF_PEERS_DIR/bambu/payloads`; their README gives each file's source).
The expected values below were read from those files by hand.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent.drivers.bambu.errors import (
    CANCELLED_ERROR,
    PRINT_ERROR_WIKI,
    HmsEntry,
    HmsSeverity,
    format_print_error,
    hms_entries,
    hms_messages,
    print_error_message,
)
from agent.drivers.bambu.state import (
    Observation,
    firmware,
    has_chamber_sensor,
    job_progress,
    materials,
    merge_report,
    model_name,
    observe,
    printer_status,
    temperatures,
)
from agent.drivers.base import LoadedMaterial, Temperatures
from shared.enums import PrinterStatus

PEERS = Path(
    os.environ.get("APF_PEERS_DIR") or Path(__file__).resolve().parents[4] / "shared" / "peers"
)
PAYLOADS = PEERS / "bambu" / "payloads"


@pytest.fixture
def payloads() -> Path:
    if not PAYLOADS.is_dir():
        pytest.skip(f"the Bambu payload captures are not at {PAYLOADS} (set APF_PEERS_DIR)")
    return PAYLOADS


def load(folder: Path, name: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The `print` report and the `get_version` info of one file, in its shape (README)."""
    data = json.loads((folder / name).read_text(encoding="utf-8"))
    if "message" in data:  # bambu-rs: {"_meta", "message": <the MQTT body>}
        return data["message"].get("print"), data["message"].get("info")
    if "pushall" in data:  # ha-bambulab MOCK-*: whole messages by command
        return data["pushall"]["print"], data["get_version"]["info"]
    return data["push_all"], data["get_version"]  # ha-bambulab P1P/H2D: the inner objects


def mat(slot: str, kind: str, color: str | None, remain: float | None) -> LoadedMaterial:
    return LoadedMaterial(slot=slot, material_type=kind, color=color, remaining_pct=remain)


@dataclass(frozen=True)
class Expect:
    firmware: str | None
    status: PrinterStatus | None = None
    temps: Temperatures | None = None
    progress: tuple[float, float | None, int | None, int | None] | None = None
    subtask: str = ""
    loaded: list[LoadedMaterial] = field(default_factory=list)


def temps_of(
    hotend: tuple[float, float],
    bed: tuple[float, float],
    chamber: tuple[float | None, float | None] = (None, None),
    t1: tuple[float, float] | None = None,
) -> Temperatures:
    return Temperatures(
        hotend_c=hotend[0],
        hotend_target_c=hotend[1],
        bed_c=bed[0],
        bed_target_c=bed[1],
        chamber_c=chamber[0],
        chamber_target_c=chamber[1],
        extra_tools={"T1": t1} if t1 else {},
    )


EXPECTED: dict[str, Expect] = {
    "ha-bambulab/MOCK-X1CMULTIAMS.json": Expect(
        firmware="Bambu Lab X1-Carbon 01.09.00.01",
        status=PrinterStatus.IDLE,  # FINISH
        # device.ctc.info.temp 25; no chamber_temper at all in this capture
        temps=temps_of((26.0, 0.0), (23.0, 0.0), chamber=(25.0, None)),
        progress=(100.0, 0.0, 480, 480),
        subtask="Garden Hose Healer: Male fitting",
        loaded=[
            mat("AMS1 tray 1", "PLA", "#000000", 93.0),
            mat("AMS1 tray 2", "PLA", "#7D6556", 100.0),
            mat("AMS1 tray 3", "PLA", "#4D3324", 100.0),
            mat("AMS1 tray 4", "PLA", "#AE835B", 83.0),
            mat("AMS2 tray 1", "ABS", "#D32941", 21.0),
            mat("AMS2 tray 2", "ABS", "#489FDF", 20.0),
            mat("AMS2 tray 3", "ABS", "#FFFFFF", 71.0),
            mat("AMS2 tray 4", "ABS", "#87909A", 100.0),
            # unit 2 (an AMS 2 Pro) tray 0 is only {"id": "0", "state": 0}: empty
            mat("AMS3 tray 2", "ABS", "#FF6A13", 100.0),
            mat("AMS3 tray 3", "ABS", "#789D4A", 62.0),
            mat("AMS3 tray 4", "ABS", "#000000", 100.0),
            mat("AMS HT1 tray 1", "PA-CF", "#000000", 100.0),  # unit id "128"
        ],
    ),
    "ha-bambulab/MOCK-H2D.json": Expect(
        firmware="Bambu Lab H2D 01.01.01.00",
        status=PrinterStatus.PRINTING,
        # extruder 0 temp 16056565 = 0x00F5_00F5, extruder 1 temp 47; ctc temp 35
        temps=temps_of((245.0, 245.0), (70.0, 70.0), chamber=(35.0, None), t1=(47.0, 0.0)),
        progress=(6.0, 549 * 60.0, 1, 200),
        subtask="T-pose - slim H2D dual AMS riser",
        loaded=[
            mat("AMS1 tray 1", "PLA-S", "#FFFFFF", 1.0),
            mat("AMS1 tray 2", "PLA", "#FFFFFF", 31.0),
            mat("AMS1 tray 3", "PETG", "#FFFFFF", 100.0),
            mat("AMS1 tray 4", "PLA", "#FFFFFF", 100.0),
            mat("AMS2 tray 1", "PLA", "#000000", 55.0),
            mat("AMS2 tray 2", "PLA", "#000000", 100.0),
            mat("AMS2 tray 3", "PETG-CF", "#000000", 100.0),
            mat("AMS2 tray 4", "PETG", "#ADB1B2", 51.0),
        ],  # both vir_slot entries (254, 255) have no tray_type
    ),
    "ha-bambulab/H2D.json": Expect(
        firmware="Bambu Lab H2D 01.01.02.07",
        status=PrinterStatus.PRINTING,
        # extruder 0 temp 14745864 = 0x00E1_0108; extruder 1 temp 40; bed 0x0064_0064;
        # ctc 3932208 = 0x003C_0030
        temps=temps_of((264.0, 225.0), (100.0, 100.0), chamber=(48.0, 60.0), t1=(40.0, 0.0)),
        progress=(0.0, 115 * 60.0, 0, 26),
        subtask="Number 10 House Numbers_plate_1",
        loaded=[
            mat("AMS1 tray 1", "PLA", "#FFFFFF", 47.0),
            mat("AMS1 tray 2", "PLA", "#000000", 35.0),
            mat("AMS1 tray 3", "PLA", "#DE4343", 82.0),
            mat("AMS1 tray 4", "PETG", "#000000", 26.0),
            mat("AMS HT1 tray 1", "PA-GF", "#000000", 100.0),
        ],
    ),
    "ha-bambulab/MOCK-P2S.json": Expect(
        firmware="Bambu Lab P2S 01.01.00.00",
        status=PrinterStatus.PRINTING,
        temps=temps_of((254.0, 255.0), (70.0, 70.0), chamber=(47.0, None)),
        progress=(64.0, 62 * 60.0, 170, 305),
        subtask="Rear Dry Pod AMS 2 PRO ",
        loaded=[
            mat("AMS1 tray 1", "PLA", "#FFFFFF", 41.0),
            mat("AMS1 tray 2", "PLA", "#000000", 39.0),
            mat("AMS1 tray 3", "PLA", "#000000", None),  # remain -1
            mat("AMS1 tray 4", "PETG", "#FFFFFF", None),
        ],
    ),
    "ha-bambulab/MOCK-A1.json": Expect(
        firmware="Bambu Lab A1 01.05.00.00",  # ota project_name "N2S"
        status=PrinterStatus.IDLE,
        temps=temps_of((27.8125, 0.0), (29.75, 0.0)),  # chamber_temper 5 is no sensor
        progress=(0.0, 0.0, 0, 0),
        loaded=[
            mat("AMS1 tray 1", "PLA", "#76D9F4", 100.0),
            mat("AMS1 tray 2", "PLA", "#FFF144", 100.0),
            mat("AMS1 tray 3", "PLA", "#FF80FF", 100.0),
            mat("AMS1 tray 4", "PLA", "#0ACC38", 100.0),
            mat("external", "PLA", "#FFFFFF", None),  # vt_tray id 254, remain 0
        ],
    ),
    "ha-bambulab/MOCK-P1PNOAMS.json": Expect(
        firmware="Bambu Lab P1P 01.08.02.00",
        status=PrinterStatus.IDLE,  # FINISH
        temps=temps_of((25.90625, 0.0), (23.125, 0.0)),
        progress=(100.0, 0.0, 124, 124),
        subtask="sensor_altanlås_v2_v3",
        loaded=[mat("external", "PETG", "#BCBCBC", None)],
    ),
    "ha-bambulab/P1P.json": Expect(
        firmware="Bambu Lab P1P 01.07.00.00",  # ota project_name "C11"
        status=PrinterStatus.IDLE,  # FAILED with print_error 0: no reason to give
        temps=temps_of((21.25, 0.0), (19.84375, 0.0)),
        progress=(0.0, 759 * 60.0, 1, 70),
        subtask="Fidget Collection",
        loaded=[
            mat("AMS1 tray 1", "PLA", "#D357FE", None),
            mat("AMS1 tray 2", "PLA", "#D357FE", None),
            mat("AMS1 tray 3", "PLA", "#D357FE", None),
            mat("AMS1 tray 4", "PLA", "#D357FE", None),
            mat("external", "PLA", "#161616", None),
        ],
    ),
    "bambu-rs/pushall-n1-idle.json": Expect(
        firmware=None,  # a report only
        status=PrinterStatus.IDLE,
        temps=temps_of((27.21875, 0.0), (26.53125, 0.0)),
        progress=(0.0, 0.0, 0, 0),
        loaded=[
            mat("AMS1 tray 1", "PLA", "#DE4343", 0.0),
            mat("AMS1 tray 2", "PLA", "#918669", 0.0),
            mat("AMS1 tray 3", "PETG", "#D6ABFF", 0.0),  # D6ABFF80: translucent
            mat("AMS1 tray 4", "PLA", "#000000", 0.0),
            mat("external", "PLA", "#161616", None),
        ],
    ),
    "bambu-rs/get_version-a1mini.json": Expect(firmware="Bambu Lab A1 mini 01.07.02.00"),
}


def test_every_captured_file_has_expectations(payloads: Path) -> None:
    found = {str(p.relative_to(payloads)) for p in payloads.rglob("*.json")}
    assert found == set(EXPECTED), "a payload file was added or removed: update EXPECTED"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_captured_payload(payloads: Path, name: str) -> None:
    expect = EXPECTED[name]
    report, info = load(payloads, name)
    assert (firmware(info) if info is not None else None) == expect.firmware
    if report is None:
        return
    state = merge_report({}, report)
    assert state == report  # a first report is the whole state
    obs = observe(state)
    assert printer_status(obs) == (expect.status, None)
    chamber_sensor = has_chamber_sensor(info) if info is not None else False
    assert temperatures(state, chamber_sensor=chamber_sensor) == expect.temps
    assert (obs.progress_pct, obs.remaining_s, obs.layer, obs.total_layers) == expect.progress
    assert obs.subtask_name == expect.subtask
    assert list(materials(state)) == expect.loaded


def test_model_names_and_chamber_sensors(payloads: Path) -> None:
    sensors = {}
    for name in EXPECTED:
        _, info = load(payloads, name)
        if info is not None:
            sensors[model_name(info)] = has_chamber_sensor(info)
    assert sensors == {
        "Bambu Lab X1-Carbon": True,
        "Bambu Lab H2D": True,
        "Bambu Lab P2S": True,
        "Bambu Lab A1": False,
        "Bambu Lab P1P": False,
        "Bambu Lab A1 mini": False,
    }


# --- merging ------------------------------------------------------------------------------

H2D_DELTAS = [
    "push_old_door_closed",
    "push_old_door_opened",
    "push_door_closed",
    "push_door_opened",
    "push_left_extruder",
    "push_alt_nozzle_info",
]


def test_h2d_deltas_merged_one_by_one(payloads: Path) -> None:
    data = json.loads((payloads / "ha-bambulab/H2D.json").read_text(encoding="utf-8"))
    pristine = copy.deepcopy(data)
    state = merge_report({}, data["push_all"])
    full_temps, full_materials = temperatures(state), materials(state)
    for key in H2D_DELTAS:
        state = merge_report(state, data[key])
    assert data == pristine  # nothing given was changed
    assert state["home_flag"] == -1058546177  # the last of the two home_flag deltas
    assert state["stat"] == "46A58008"
    device = state["device"]
    # {"device": {"extruder": {"state": 274}}} changed one key, kept the extruders' info
    assert device["extruder"]["state"] == 274
    assert device["extruder"]["info"] == data["push_all"]["device"]["extruder"]["info"]
    # the nozzle list came whole and replaced the old one
    assert [(n["id"], n["diameter"], n["type"]) for n in device["nozzle"]["info"]] == [
        (0, 0.2, "HS00"),
        (1, 0.6, "HX05"),
    ]
    assert device["bed"] == data["push_all"]["device"]["bed"]
    assert state["ams"] == data["push_all"]["ams"]
    assert temperatures(state) == full_temps
    assert materials(state) == full_materials
    assert observe(state).gcode_state == "RUNNING"


def test_objects_merge_lists_replace() -> None:
    held = {
        "device": {"extruder": {"state": 2, "info": [{"id": 0}, {"id": 1}]}, "bed": {"x": 1}},
        "hms": [{"attr": 1, "code": 2}],
        "ams": {"tray_now": "255", "ams": [{"id": "0"}, {"id": "1"}]},
    }
    merged = merge_report(
        held,
        {"device": {"extruder": {"info": [{"id": 1, "temp": 5}]}}, "hms": [], "ams": {"ams": []}},
    )
    assert merged == {
        "device": {"extruder": {"state": 2, "info": [{"id": 1, "temp": 5}]}, "bed": {"x": 1}},
        "hms": [],  # an emptied list clears the alerts
        "ams": {"tray_now": "255", "ams": []},
    }


def test_merge_never_shares_or_mutates() -> None:
    held: dict[str, Any] = {"a": {"b": [1, 2]}, "keep": {"deep": {"x": 1}}}
    delta: dict[str, Any] = {"a": {"c": {"d": [3]}}}
    held_before, delta_before = copy.deepcopy(held), copy.deepcopy(delta)
    merged = merge_report(held, delta)
    merged["a"]["c"]["d"].append(4)
    merged["keep"]["deep"]["x"] = 2
    merged["a"]["b"].append(9)
    assert (held, delta) == (held_before, delta_before)


def test_acknowledgements_and_garbage_leave_the_state() -> None:
    held = {"gcode_state": "IDLE", "subtask_name": "old"}
    ack = {"command": "project_file", "result": "SUCCESS", "subtask_name": "new", "msg": 0}
    assert merge_report(held, ack) == held
    junk: Any
    for junk in (None, [], "x", 5):
        assert merge_report(held, junk) == held
        assert merge_report(junk, {"gcode_state": "RUNNING"}) == {"gcode_state": "RUNNING"}


def test_a_very_deep_message_does_not_exhaust_the_stack() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):
        node["n"] = {}
        node = node["n"]
    assert merge_report(deep, deep)["n"]["n"] is not None


# --- status -------------------------------------------------------------------------------


def obs_of(**report: Any) -> Observation:
    return observe(report)


HEATBED_FAULT = {"attr": 0x03000100, "code": 0x00010007}  # level 1: fatal
AMS_RUNOUT = {"attr": 0x07002000, "code": 0x00020001}  # level 2: serious
SPAGHETTI = {"attr": 0x0C000300, "code": 0x00030008}  # level 3: common


@pytest.mark.parametrize("state", ["PREPARE", "RUNNING", "SLICING", "running"])
def test_job_states_print(state: str) -> None:
    assert printer_status(obs_of(gcode_state=state)) == (PrinterStatus.PRINTING, None)


def test_an_alert_does_not_stop_a_running_job() -> None:
    obs = obs_of(gcode_state="RUNNING", hms=[HEATBED_FAULT])
    assert printer_status(obs) == (PrinterStatus.PRINTING, None)


def test_a_cancel_is_no_failure() -> None:
    obs = obs_of(gcode_state="FAILED", print_error=50348044)
    assert obs.cancelled
    assert printer_status(obs) == (PrinterStatus.IDLE, None)


def test_a_failure_says_why() -> None:
    status, message = printer_status(obs_of(gcode_state="FAILED", print_error=0x03008004))
    assert status is PrinterStatus.IDLE
    assert message == (
        "the last print failed: the filament ran out: load new filament "
        f"(printer error 0300_8004, {PRINT_ERROR_WIKI})"
    )


def test_a_pause_says_why() -> None:
    assert printer_status(obs_of(gcode_state="PAUSE")) == (PrinterStatus.PAUSED, None)
    status, message = printer_status(obs_of(gcode_state="PAUSE", hms=[AMS_RUNOUT]))
    assert status is PrinterStatus.PAUSED
    assert message == (
        "AMS1 tray 1 ran out of filament (HMS 0700_2000_0002_0001, serious, "
        "https://e.bambulab.com/index.php?e=0700200000020001&s=device_hms&lang=en)"
    )


def test_serious_alerts_outside_a_job_are_errors() -> None:
    for state in ("IDLE", "FINISH", "FAILED", "INIT"):
        status, message = printer_status(obs_of(gcode_state=state, hms=[HEATBED_FAULT]))
        assert status is PrinterStatus.ERROR
        assert message is not None and message.startswith("heatbed temperature fault")
    status, message = printer_status(obs_of(gcode_state="IDLE", hms=[AMS_RUNOUT]))
    assert status is PrinterStatus.ERROR


def test_lesser_alerts_are_a_message_only() -> None:
    status, message = printer_status(obs_of(gcode_state="IDLE", hms=[SPAGHETTI]))
    assert status is PrinterStatus.IDLE
    assert message is not None and "0C00_0300_0003_0008, common" in message


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("INIT", (PrinterStatus.BUSY, "the printer is starting up")),
        ("OFFLINE", (PrinterStatus.OFFLINE, "the printer reports itself offline")),
        (None, (PrinterStatus.BUSY, "the printer has not reported its state yet")),
        ("CALIBRATING", (PrinterStatus.BUSY, "the printer reports an unknown state 'CALIBRATING'")),
    ],
)
def test_other_states(state: str | None, expected: tuple[PrinterStatus, str]) -> None:
    assert printer_status(obs_of(gcode_state=state)) == expected


def test_job_progress_uses_the_callers_clock() -> None:
    obs = obs_of(gcode_state="RUNNING", mc_percent=40, mc_remaining_time=30)
    job = job_progress("job-1", obs, 1200.0)
    assert (job.progress_pct, job.elapsed_s, job.remaining_s) == (40.0, 1200.0, 1800.0)


# --- temperatures and materials beyond the captures ---------------------------------------


def test_chamber_temper_only_where_the_model_has_a_sensor() -> None:
    a1 = {"nozzle_temper": 25.0, "bed_temper": 24.0, "chamber_temper": 5}
    assert temperatures(a1).chamber_c is None
    old_x1 = {"chamber_temper": 31.0, "ctt": 0}  # X1 firmware without a `device` object
    assert (temperatures(old_x1, chamber_sensor=True).chamber_c) == 31.0
    assert temperatures(old_x1, chamber_sensor=True).chamber_target_c is None


def test_dual_external_spools_are_named_by_side() -> None:
    report = {
        "device": {"extruder": {"state": 2, "info": [{"id": 0, "temp": 0}, {"id": 1}]}},
        "vir_slot": [
            {"id": "254", "tray_type": "PLA", "tray_color": "76D9F4FF", "remain": 0},
            {"id": "255", "tray_type": "PETG", "tray_color": "000000FF", "remain": 0},
        ],
        "vt_tray": {"id": "255", "tray_type": "ABS"},  # superseded by vir_slot
    }
    assert materials(report) == (
        mat("external L", "PLA", "#76D9F4", None),
        mat("external R", "PETG", "#000000", None),
    )


def test_clear_filament_has_no_colour() -> None:
    report = {"vt_tray": {"tray_type": "PETG", "tray_color": "FFFFFF00"}}
    assert materials(report) == (mat("external", "PETG", None, None),)


# --- error texts --------------------------------------------------------------------------


def test_print_error_texts() -> None:
    assert CANCELLED_ERROR == 50348044
    assert format_print_error(0x0300400C) == "0300_400C"
    assert print_error_message(50348044) == (
        f"the print was cancelled (printer error 0300_400C, {PRINT_ERROR_WIKI})"
    )
    assert print_error_message(0x05004002) == f"printer error 0500_4002: see {PRINT_ERROR_WIKI}"
    second_ams = print_error_message(0x07018011)
    assert second_ams is not None and second_ams.startswith("AMS2 ran out of filament")
    assert print_error_message(0) is None
    junk: Any = "0300400C"
    assert print_error_message(junk) is None


def test_hms_codes_texts_and_links() -> None:
    # The worked example in ha-bambulab (pybambu/models.py) and bambu-rs (protocol.md).
    entry = HmsEntry(attr=50331904, code=65543)
    assert entry.code_text == "0300_0100_0001_0007"
    assert entry.wiki_url == (
        "https://e.bambulab.com/index.php?e=0300010000010007&s=device_hms&lang=en"
    )
    assert hms_messages([HEATBED_FAULT]) == [
        "heatbed temperature fault: its heater or sensor may be broken "
        f"(HMS 0300_0100_0001_0007, fatal, {entry.wiki_url})"
    ]
    assert hms_messages([{"attr": 0x05000300, "code": 0x00010001}]) == [
        "printer error 0500_0300_0001_0001 (fatal): see "
        "https://e.bambulab.com/index.php?e=0500030000010001&s=device_hms&lang=en"
    ]
    assert hms_messages([{"attr": 0x07FF2000, "code": 0x00020001}])[0].startswith(
        "the external spool ran out of filament"
    )


@pytest.mark.parametrize(
    ("level", "severity", "blocks"),
    [
        (1, HmsSeverity.FATAL, True),
        (2, HmsSeverity.SERIOUS, True),
        (3, HmsSeverity.COMMON, False),
        (4, HmsSeverity.INFO, False),
        (5, HmsSeverity.UNKNOWN, False),
        (0, HmsSeverity.UNKNOWN, False),
    ],
)
def test_hms_severity_is_the_codes_high_half(
    level: int, severity: HmsSeverity, blocks: bool
) -> None:
    entry = HmsEntry(attr=0x03000100, code=(level << 16) | 0x0007)
    assert entry.severity is severity
    assert entry.severity.blocks_printing is blocks


def test_malformed_hms_entries_are_skipped() -> None:
    raw = [HEATBED_FAULT, {"attr": 0, "code": 5}, {"attr": "1", "code": 2}, None, 7, {}]
    assert hms_entries(raw) == (HmsEntry(0x03000100, 0x00010007),)
    assert hms_entries({"attr": 1}) == ()
    # signed ints as some firmware sends them become the same unsigned code
    assert hms_entries([{"attr": -1, "code": 0x10001}])[0].code_text == "FFFF_FFFF_0001_0001"


# --- odd input never raises ---------------------------------------------------------------

GARBAGE: list[Any] = [
    None,
    True,
    -1,
    2**200,
    float("inf"),
    float("nan"),
    -0.5,
    "x",
    "",
    "9" * 5000,
    [],
    {},
    [None, 3, "y"],
    {"id": {}, "temp": "hot"},
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _with_junk(value: Any, path: tuple[Any, ...], junk: Any, check: Callable[[Any], None]) -> None:
    """Run `check` on `value` with the item at `path` replaced by `junk`, then put it back."""
    node = value
    for step in path[:-1]:
        node = node[step]
    saved = node[path[-1]]
    node[path[-1]] = junk
    try:
        check(value)
    finally:
        node[path[-1]] = saved


def everything(report: Any) -> None:
    obs = observe(report)
    printer_status(obs)
    job_progress("j", obs, 1.0)
    temperatures(report)
    temperatures(report, chamber_sensor=True)
    materials(report)
    hms_messages(report.get("hms") if isinstance(report, dict) else None)
    print_error_message(obs.print_error)


def test_wrong_types_anywhere_in_a_report_never_raise(payloads: Path) -> None:
    for name in ("ha-bambulab/H2D.json", "ha-bambulab/MOCK-X1CMULTIAMS.json"):
        report, _ = load(payloads, name)
        for path in _paths(report):
            for junk in GARBAGE:
                _with_junk(report, path, junk, everything)


def test_wrong_types_in_a_delta_never_raise(payloads: Path) -> None:
    # The merge only looks at whether a value is an object, a list or anything else.
    shapes: list[Any] = [None, "x", [], {}, [None, 3], {"id": {}}]
    report, _ = load(payloads, "ha-bambulab/H2D.json")
    assert report is not None
    state = merge_report({}, report)
    for path in (p for p in _paths(report) if len(p) <= 2):
        for junk in shapes:
            _with_junk(report, path, junk, lambda odd: everything(merge_report(state, odd)))
            if len(path) == 1:
                _with_junk(report, path, junk, lambda odd: everything(merge_report(odd, report)))


def test_wrong_types_in_a_version_reply_never_raise(payloads: Path) -> None:
    _, info = load(payloads, "ha-bambulab/H2D.json")

    def check(odd: Any) -> None:
        firmware(odd)
        has_chamber_sensor(odd)

    for path in _paths(info):
        for junk in GARBAGE:
            _with_junk(info, path, junk, check)


@pytest.mark.parametrize("junk", GARBAGE)
def test_garbage_instead_of_a_report(junk: Any) -> None:
    everything({} if not isinstance(junk, dict) else junk)
    assert observe(junk).gcode_state == ""
    assert temperatures(junk) == Temperatures()
    assert materials(junk) == ()
    assert firmware(junk) is None
    assert hms_messages(junk) == []
