"""The pure mapping from Klipper's objects to our status, temperatures and progress."""

from __future__ import annotations

from typing import Any

import pytest

from agent.drivers.moonraker.state import (
    job_progress,
    merge,
    observe,
    printer_status,
    remaining_s,
    subscription,
    temperatures_from,
)
from shared.enums import PrinterStatus

# A Voron's objects, in the shapes Klipper's get_status returns them.
VORON: dict[str, dict[str, Any]] = {
    "webhooks": {"state": "ready", "state_message": "Printer is ready"},
    "print_stats": {
        "filename": "apf-0123456789abcdef.gcode",
        "total_duration": 120.0,
        "print_duration": 100.0,
        "filament_used": 310.5,
        "state": "printing",
        "message": "",
    },
    "virtual_sdcard": {
        "progress": 0.25,
        "file_position": 2500,
        "file_size": 10000,
        "is_active": True,
    },
    "idle_timeout": {"state": "Printing"},
    "heaters": {
        "available_sensors": [
            "extruder",
            "extruder1",
            "heater_bed",
            "heater_generic chamber",
            "temperature_sensor mcu_temp",
            "temperature_fan electronics",
        ]
    },
    "extruder": {"temperature": 239.8, "target": 240.0},
    "extruder1": {"temperature": 150.2, "target": 150.0},
    "heater_bed": {"temperature": 100.1, "target": 100.0},
    "heater_generic chamber": {"temperature": 45.0, "target": 50.0},
    "temperature_sensor mcu_temp": {"temperature": 41.2},
    "temperature_fan electronics": {"temperature": 38.0, "target": 40.0},
}


def test_subscription_takes_what_exists_and_every_sensor() -> None:
    known = ["webhooks", "print_stats", "virtual_sdcard", "heaters", "extruder", "fan", "toolhead"]
    wanted = subscription(known, ["extruder", "heater_bed"])
    assert wanted == {
        "webhooks": None,
        "print_stats": None,
        "virtual_sdcard": None,
        "heaters": ["available_sensors"],
        "extruder": ["temperature", "target"],
    }


def test_every_heater_and_sensor_finds_a_place() -> None:
    temps = temperatures_from(VORON)
    assert (temps.hotend_c, temps.hotend_target_c) == (239.8, 240.0)
    assert (temps.bed_c, temps.bed_target_c) == (100.1, 100.0)
    assert (temps.chamber_c, temps.chamber_target_c) == (45.0, 50.0)
    assert temps.extra_tools == {"T1": (150.2, 150.0)}
    assert temps.sensors == {
        "temperature_sensor mcu_temp": (41.2, None),
        "temperature_fan electronics": (38.0, 40.0),
    }


def test_a_sensor_that_has_not_reported_is_left_out() -> None:
    status = {"heaters": {"available_sensors": ["temperature_sensor pi"]}}
    assert temperatures_from(status).sensors == {}


def test_a_diff_updates_only_its_fields() -> None:
    status = {k: dict(v) for k, v in VORON.items()}
    merge(status, {"print_stats": {"state": "paused"}, "extruder": {"temperature": 238.0}})
    assert status["print_stats"]["filename"] == "apf-0123456789abcdef.gcode"
    assert status["print_stats"]["state"] == "paused"
    assert status["extruder"] == {"temperature": 238.0, "target": 240.0}
    merge(status, {"new_object": {"x": 1}, "bad": 3})
    assert status["new_object"] == {"x": 1} and "bad" not in status


@pytest.mark.parametrize(
    ("klippy", "print_state", "running", "expected"),
    [
        ("ready", "standby", False, PrinterStatus.IDLE),
        ("ready", "complete", False, PrinterStatus.IDLE),
        ("ready", "cancelled", False, PrinterStatus.IDLE),
        ("ready", "error", False, PrinterStatus.IDLE),
        ("ready", "printing", True, PrinterStatus.PRINTING),
        ("ready", "paused", False, PrinterStatus.PAUSED),
        ("ready", "standby", True, PrinterStatus.BUSY),
        ("startup", "standby", False, PrinterStatus.BUSY),
        ("shutdown", "printing", False, PrinterStatus.ERROR),
        ("error", "standby", False, PrinterStatus.ERROR),
        ("disconnected", "printing", False, PrinterStatus.OFFLINE),
        ("something new", "standby", False, PrinterStatus.BUSY),
    ],
)
def test_klippy_and_print_states_map_to_ours(
    klippy: str, print_state: str, running: bool, expected: PrinterStatus
) -> None:
    status = {
        "webhooks": {"state": klippy, "state_message": "x"},
        "print_stats": {"state": print_state, "filename": "a.gcode"},
        "idle_timeout": {"state": "Printing" if running else "Ready"},
    }
    assert printer_status(observe(klippy, status))[0] is expected


def test_a_shutdown_says_klippers_reason_without_the_restart_ritual() -> None:
    message = (
        "HOST temperature 450.0 above maximum temperature of 400.0\n"
        'Once the underlying issue is corrected, use the "FIRMWARE_RESTART" command to reset '
        "the firmware, reload the config, and restart the host software.\nPrinter is shutdown\n"
    )
    status = {"webhooks": {"state": "shutdown", "state_message": message}}
    assert printer_status(observe("ready", status)) == (
        PrinterStatus.ERROR,
        "Klipper shut down: HOST temperature 450.0 above maximum temperature of 400.0",
    )


def test_moonrakers_disconnected_wins_over_the_last_webhooks_state() -> None:
    obs = observe("disconnected", {"webhooks": {"state": "ready"}})
    assert obs.klippy == "disconnected"
    assert printer_status(obs)[0] is PrinterStatus.OFFLINE


def test_garbage_in_klippers_fields_reads_as_nothing() -> None:
    obs = observe(
        "ready",
        {"print_stats": {"state": 7, "filename": None}, "virtual_sdcard": {"progress": "x"}},
    )
    assert (obs.print_state, obs.filename, obs.progress) == ("", "", 0.0)


def test_time_left_blends_the_slicer_estimate_and_the_pace() -> None:
    assert remaining_s(0.0, 0.0, None) is None
    assert remaining_s(0.005, 10.0, None) is None  # too early to trust the pace
    assert remaining_s(0.5, 100.0, None) == pytest.approx(100.0)
    assert remaining_s(0.0, 0.0, 3600.0) == pytest.approx(3600.0)
    # Half way, the printer twice as slow as the slicer said: between the two guesses.
    blended = remaining_s(0.5, 3600.0, 3600.0)
    assert blended == pytest.approx(0.5 * 1800.0 + 0.5 * 3600.0)


def test_the_slicers_m73_progress_paces_the_time_left_and_the_file_the_bar() -> None:
    status = {k: dict(v) for k, v in VORON.items()}
    status["display_status"] = {"progress": 0.5, "message": ""}
    obs = observe("ready", status)
    assert (obs.progress, obs.time_progress) == (0.25, 0.5)
    progress = job_progress("job_1", obs, None)
    assert progress.progress_pct == 25.0
    # 120 s for half the print's time: 120 s left.
    assert progress.remaining_s == pytest.approx(120.0)
    del status["display_status"]
    assert observe("ready", status).time_progress == 0.25
