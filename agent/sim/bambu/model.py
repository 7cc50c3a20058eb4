"""The simulated printer's state: a print's life, heaters, AMS, errors — no I/O, no clock.

`advance(now)` moves time on; commands (`start`, `pause`, `resume`, `stop`, `gcode`) change
state at once, the way a printer acknowledges and then reports. `print_fields()` is the
`print` object of a full `push_status` report. Its keys and value types follow the reports
real P1/A1-series printers send (a full report of a printer in LAN mode has about 64
keys; ../shared/peers/bambu/payloads, checked by tests/agent/sim/test_bambu_reports.py),
including their quirks: fan speeds and several counters are strings, temperatures numbers,
colours `RRGGBBAA`.

The life of a print (gcode_state, ../shared/peers/bambu/README.md fact 9):
IDLE → PREPARE (heating, `gcode_file_prepare_percent` and `stg_cur` 2) → RUNNING →
FINISH, or FAILED on a stop (print_error 0x0300400C, cleared a few seconds later, as
ha-bambulab pybambu/models.py reads a user cancel) or on an injected failure; PAUSE on a
pause command or an injected HMS fault. FINISH and FAILED keep the last percent and layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# A user cancel: 0x0300400C "The task was canceled" (README fact 9).
CANCELLED_ERROR = 0x0300400C
# Injected faults' defaults. 0x0C00_8001 is in the first-layer-inspection module (0x0C,
# xcam) family; 0x0700_8011 an AMS filament run-out (module 0x07 = AMS); both only need
# to be realistic in shape, the driver turns any code into a message with a wiki link.
DEFAULT_FAILURE_ERROR = 0x0C008001
DEFAULT_HMS = (0x07002000, 0x00020011)  # (attr, code): AMS module, severity 2 (serious)
# How long the cancel code stays in the reports before the printer clears it.
CANCEL_ERROR_CLEAR_S = 3.0


@dataclass(slots=True)
class Tray:
    material_type: str
    color: str  # RRGGBBAA, as the printer sends it
    remain_pct: int  # -1: unknown (no RFID)


@dataclass(slots=True)
class PrintFile:
    """What the model needs to know of a file it is told to print."""

    name: str  # as the printer shows it in gcode_file
    subtask_name: str
    duration_s: float  # printing time at the simulator's speed
    total_layers: int
    nozzle_c: float = 220.0
    bed_c: float = 60.0


@dataclass(slots=True)
class Faults:
    # Fail (FAILED with print_error) once this share of the print is done.
    fail_at_pct: float | None = None
    failure_error: int = DEFAULT_FAILURE_ERROR
    # Raise an HMS fault and pause at this share (a person must fix it and resume).
    hms_at_pct: float | None = None
    hms: tuple[int, int] = DEFAULT_HMS


@dataclass(slots=True)
class PrinterModel:
    serial: str
    prepare_s: float = 2.0
    heat_rate_c_per_s: float = 20.0
    ambient_c: float = 24.0
    faults: Faults = field(default_factory=Faults)
    trays: list[Tray] = field(
        default_factory=lambda: [
            Tray("PLA", "FFFFFFFF", 80),
            Tray("PLA", "000000FF", 45),
            Tray("PETG", "DE4343FF", 100),
            Tray("PLA", "0078BFFF", -1),
        ]
    )
    external: Tray = field(default_factory=lambda: Tray("PLA", "161616FF", -1))
    gcode_state: str = "IDLE"
    job: PrintFile | None = None
    done_s: float = 0.0  # printing time done in the current job
    prepare_done_s: float = 0.0
    print_error: int = 0
    print_error_clear_at: float | None = None
    hms: list[tuple[int, int]] = field(default_factory=list)
    nozzle_c: float = 24.0
    nozzle_target_c: float = 0.0
    bed_c: float = 24.0
    bed_target_c: float = 0.0
    homed: bool = False
    sequence: int = 0
    job_counter: int = 0
    _now: float = 0.0
    _fault_fired: set[str] = field(default_factory=set)

    # --- commands --------------------------------------------------------------------

    def start(self, job: PrintFile, now: float) -> None:
        self.advance(now)
        self.job = job
        self.job_counter += 1
        self.gcode_state = "PREPARE"
        self.done_s = 0.0
        self.prepare_done_s = 0.0
        self.print_error = 0
        self.print_error_clear_at = None
        self.hms = []
        self._fault_fired = set()
        self.nozzle_target_c, self.bed_target_c = job.nozzle_c, job.bed_c

    def refuse_start(self, error: int, now: float) -> None:
        """Accepted, then not printed: the printer stays IDLE and says why (fact 8)."""
        self.advance(now)
        self.print_error = error
        self.print_error_clear_at = None

    def pause(self, now: float) -> bool:
        self.advance(now)
        if self.gcode_state not in ("RUNNING", "PREPARE"):
            return False
        self.gcode_state = "PAUSE"
        return True

    def resume(self, now: float) -> bool:
        self.advance(now)
        if self.gcode_state != "PAUSE":
            return False
        self.gcode_state = "RUNNING" if self.prepare_done_s >= self.prepare_s else "PREPARE"
        self.hms = []
        self.print_error = 0
        return True

    def stop(self, now: float) -> bool:
        self.advance(now)
        if self.gcode_state not in ("RUNNING", "PREPARE", "PAUSE"):
            return False
        self._end("FAILED", CANCELLED_ERROR)
        self.print_error_clear_at = now + CANCEL_ERROR_CLEAR_S
        return True

    def reboot(self, now: float) -> None:
        """Power cycle: the print is lost, heaters off, nothing homed."""
        self._now = now
        self.gcode_state = "IDLE"
        self.job = None
        self.done_s = self.prepare_done_s = 0.0
        self.print_error = 0
        self.print_error_clear_at = None
        self.hms = []
        self.nozzle_target_c = self.bed_target_c = 0.0
        self.nozzle_c = self.bed_c = self.ambient_c
        self.homed = False

    def gcode(self, line: str, now: float) -> None:
        """The handful of G-codes a LAN client sends through `gcode_line`."""
        self.advance(now)
        words = line.split(";", 1)[0].split()
        if not words:
            return
        code = words[0].upper()
        value = _s_word(words[1:])
        if code == "G28":
            self.homed = True
        elif code in ("M104", "M109") and value is not None:
            self.nozzle_target_c = value
        elif code in ("M140", "M190") and value is not None:
            self.bed_target_c = value

    # --- time --------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        dt = max(0.0, now - self._now)
        self._now = now
        self._heat(dt)
        if self.print_error_clear_at is not None and now >= self.print_error_clear_at:
            self.print_error = 0
            self.print_error_clear_at = None
        if self.job is None:
            return
        if self.gcode_state == "PREPARE":
            self.prepare_done_s += dt
            if self.prepare_done_s >= self.prepare_s:
                self.gcode_state = "RUNNING"
        elif self.gcode_state == "RUNNING":
            self.done_s = min(self.job.duration_s, self.done_s + dt)
            self._inject_faults()
            if self.gcode_state == "RUNNING" and self.done_s >= self.job.duration_s:
                self._end("FINISH", 0)

    def _inject_faults(self) -> None:
        pct = self.percent()
        hms_at = self.faults.hms_at_pct
        if hms_at is not None and pct >= hms_at and "hms" not in self._fault_fired:
            self._fault_fired.add("hms")
            self.hms = [self.faults.hms]
            self.gcode_state = "PAUSE"
            return
        fail_at = self.faults.fail_at_pct
        if fail_at is not None and pct >= fail_at and "fail" not in self._fault_fired:
            self._fault_fired.add("fail")
            self._end("FAILED", self.faults.failure_error)

    def _end(self, state: str, error: int) -> None:
        self.gcode_state = state
        self.print_error = error
        self.nozzle_target_c = self.bed_target_c = 0.0

    def _heat(self, dt: float) -> None:
        rate = self.heat_rate_c_per_s * dt
        self.nozzle_c = _towards(self.nozzle_c, self.nozzle_target_c or self.ambient_c, rate)
        self.bed_c = _towards(self.bed_c, self.bed_target_c or self.ambient_c, rate / 2)

    # --- what is reported ---------------------------------------------------------------

    def percent(self) -> int:
        if self.job is None or self.job.duration_s <= 0:
            return 100 if self.gcode_state == "FINISH" else 0
        return min(100, int(100 * self.done_s / self.job.duration_s))

    def layer(self) -> int:
        if self.job is None or self.gcode_state == "PREPARE":
            return 0
        if self.gcode_state == "FINISH":
            return self.job.total_layers
        return min(self.job.total_layers, math.ceil(self.job.total_layers * self.percent() / 100))

    def remaining_min(self) -> int:
        if self.job is None or self.gcode_state in ("FINISH", "FAILED", "IDLE"):
            return 0
        return math.ceil(max(0.0, self.job.duration_s - self.done_s) / 60)

    def next_sequence(self) -> str:
        self.sequence += 1
        return str(self.sequence)

    def print_fields(self) -> dict[str, Any]:
        job = self.job
        preparing = self.gcode_state == "PREPARE"
        prepare_pct = min(100, int(100 * self.prepare_done_s / self.prepare_s)) if job else 0
        active = self.gcode_state in ("PREPARE", "RUNNING", "PAUSE")
        return {
            "ams": self._ams(),
            "ams_rfid_status": 0,
            "ams_status": 0,
            "bed_target_temper": round(self.bed_target_c),
            "bed_temper": round(self.bed_c + self._noise(self.bed_target_c), 2),
            "big_fan1_speed": "0",
            "big_fan2_speed": "0",
            "cali_version": 0,
            # P1/A1 printers have no chamber sensor and report a fixed number here.
            "chamber_temper": 5,
            "command": "push_status",
            "cooling_fan_speed": "15" if self.gcode_state == "RUNNING" else "0",
            "fan_gear": 0,
            "filam_bak": [],
            "flag3": 8863,
            "force_upgrade": False,
            "gcode_file": job.name if job else "",
            "gcode_file_prepare_percent": str(prepare_pct),
            "gcode_state": self.gcode_state,
            "heatbreak_fan_speed": "15" if active else "0",
            "hms": [{"attr": attr, "code": code} for attr, code in self.hms],
            "home_flag": 847201680 | (1 if self.homed else 0),
            "hw_switch_state": 0,
            "ipcam": {
                "ipcam_dev": "1",
                "ipcam_record": "enable",
                "mode_bits": 3,
                "resolution": "1080p",
                "timelapse": "disable",
                "tutk_server": "disable",
            },
            "k": "0.0200",
            "layer_num": self.layer(),
            "lifecycle": "product",
            "lights_report": [{"mode": "on", "node": "chamber_light"}],
            "mc_percent": self.percent(),
            "mc_print_line_number": "0",
            "mc_print_stage": "2" if active else "1",
            "mc_print_sub_stage": 0,
            "mc_remaining_time": self.remaining_min(),
            "mess_production_state": "active",
            "msg": 0,
            "net": {"conf": 16, "info": [{"ip": 16777343, "mask": 16777215}]},  # 127.0.0.1 LE
            "nozzle_diameter": "0.4",
            "nozzle_target_temper": round(self.nozzle_target_c),
            "nozzle_temper": round(self.nozzle_c + self._noise(self.nozzle_target_c), 2),
            "nozzle_type": "stainless_steel",
            "online": {"ahb": False, "rfid": False, "version": 7},
            "print_error": self.print_error,
            "print_type": "local" if job else "idle",
            "profile_id": "0",
            "project_id": "0",
            "queue_est": 0,
            "queue_number": 0,
            "queue_sts": 0,
            "queue_total": 0,
            "s_obj": [],
            "sdcard": True,
            "sequence_id": self.next_sequence(),
            "spd_lvl": 2,
            "spd_mag": 100,
            "stg": [2] if job else [],
            "stg_cur": 2 if preparing else 0,
            "subtask_id": str(self.job_counter) if job else "0",
            "subtask_name": job.subtask_name if job else "",
            "task_id": str(self.job_counter) if job else "0",
            "total_layer_num": job.total_layers if job else 0,
            "upgrade_state": {
                "consistency_request": False,
                "cur_state_code": 0,
                "dis_state": 0,
                "err_code": 0,
                "force_upgrade": False,
                "idx2": 4012,
                "mc_for_ams_firmware": {
                    "current_firmware_id": 0,
                    "current_run_firmware_id": 0,
                    "firmware": [{"id": 0, "name": "AMS/AMS 2 Pro/AMS HT"}],
                    "status": "IDLE",
                },
                "message": "",
                "module": "",
                "new_ver_list": [],
                "new_version_state": 2,
                "progress": "",
                "sequence_id": 0,
                "status": "IDLE",
            },
            "upload": {"message": "", "progress": 0, "status": "idle"},
            # The external spool's entry has no AMS slot state (bambu-rs pushall capture).
            "vt_tray": {
                k: v
                for k, v in self._tray(254, self.external).items()
                if k not in ("state", "total_len", "cols", "ctype")
            },
            "wifi_signal": "-40dBm",
            "xcam": {"buildplate_marker_detector": True},
        }

    def _noise(self, target_c: float) -> float:
        """A held heater wobbles around its target as a real thermistor reading does, so
        a P1 printer's deltas keep coming while it prints (deterministic: ±0.25 °C)."""
        return 0.25 * math.sin(self.sequence) if target_c > 0 else 0.0

    def _ams(self) -> dict[str, Any]:
        present = sum(1 << i for i, t in enumerate(self.trays) if t.material_type)
        return {
            "ams": [
                {
                    "check": 0,
                    "chip_id": "0" * 31,
                    "dry_time": 0,
                    "humidity": "4",
                    "humidity_raw": "21",
                    "id": "0",
                    "info": "1001",
                    "temp": "26.1",
                    "tray": [self._tray(i, t) for i, t in enumerate(self.trays)],
                }
            ],
            "ams_exist_bits": "1",
            "insert_flag": True,
            "power_on_flag": False,
            "tray_exist_bits": format(present, "x"),
            "tray_is_bbl_bits": format(present, "x"),
            "tray_now": "0" if self.gcode_state in ("PREPARE", "RUNNING", "PAUSE") else "255",
            "tray_pre": "255",
            "tray_read_done_bits": format(present, "x"),
            "tray_reading_bits": "0",
            "tray_tar": "255",
            "version": 3,
        }

    @staticmethod
    def _tray(index: int, tray: Tray) -> dict[str, Any]:
        return {
            "bed_temp": "0",
            "bed_temp_type": "0",
            "cali_idx": -1,
            "cols": [tray.color],
            "ctype": 0,
            "id": str(index),
            "k": 0.02,
            "n": 1,
            "nozzle_temp_max": "240",
            "nozzle_temp_min": "190",
            "remain": tray.remain_pct,
            "state": 3 if tray.material_type else 0,
            "tag_uid": "0000000000000000",
            "total_len": 330000,
            "tray_color": tray.color,
            "tray_diameter": "1.75",
            "tray_id_name": "",
            "tray_info_idx": "GFL99",
            "tray_sub_brands": "",
            "tray_temp": "0",
            "tray_time": "0",
            "tray_type": tray.material_type,
            "tray_uuid": "0" * 32,
            "tray_weight": "1000",
            "xcam_info": "0" * 24,
        }


def _towards(value: float, target: float, step: float) -> float:
    if abs(target - value) <= step:
        return target
    return value + step if target > value else value - step


def _s_word(words: list[str]) -> float | None:
    for word in words:
        if word[:1].upper() == "S":
            try:
                return float(word[1:])
            except ValueError:
                return None
    return None
