"""Print time and filament estimated from the moves themselves (no slicer metadata needed).

The model: every move runs at its programmed feedrate from start to end, so its time is
length / feedrate. It ignores acceleration, jerk/junction deviation, firmware speed limits,
heating waits (M109/M190), homing and probing (G28/G29), and M400/M0 pauses; docs/gcode.md
lists what that means for the figures. Filament is the net extruder travel (retractions
subtract, the matching unretractions add back).

`MotionModel` holds the machine state and implements every command the model knows, one
line at a time (`feed_line`). The hot loop over whole blocks lives in `shared.gcode.bulk`,
which handles plain G0/G1 moves itself and calls back here for everything else; both paths
share this state and give the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from shared.gcode.errors import GcodeInvalidError
from shared.gcode.words import parse_words, strip_line

# Marlin starts with feedrate_mm_s = 25 mm/s (1500 mm/min) until a move sets F
# (MarlinFirmware/Marlin src/module/motion.cpp `feedrate_mm_s = MMM_TO_MMS(1500.0f)`).
DEFAULT_FEED_MM_S = 25.0
MM_PER_INCH = 25.4
# A layer is counted when an extruding XY move happens at a Z above every earlier layer by
# more than this (float noise in slicer output is far below 1 µm).
_LAYER_EPS_MM = 1e-4

_FREE_TEXT_M_CODES = frozenset({23.0, 28.0, 30.0, 32.0, 117.0, 118.0, 928.0})
Params = list[tuple[str, float | None]]


class MotionModel:
    """Machine state fed line by line; accumulates time, filament and motion counts."""

    def __init__(self) -> None:
        self.x_mm = 0.0
        self.y_mm = 0.0
        self.z_mm = 0.0
        self.e_mm = 0.0
        self.feed_mm_s = DEFAULT_FEED_MM_S
        # G90/G91 and M82/M83. Marlin: G90/G91 set every axis including E and clear an
        # earlier M82/M83 (MarlinFirmware/Marlin src/gcode/gcode.h `set_relative_mode`
        # assigns `axis_relative` whole; `axis_is_relative` consults the E_MODE bits).
        self.xyz_relative = False
        self.e_relative = False
        self.inches = False
        self.time_s = 0.0
        self.extruded_mm = 0.0
        self.motion_lines = 0
        self.layer_count = 0
        self.layer_z_mm = -math.inf
        self.hotend_target_c: float | None = None
        self.bed_target_c: float | None = None
        self.first_layer_hotend_c: float | None = None
        self.first_layer_bed_c: float | None = None

    @property
    def fast_moves(self) -> bool:
        """True in the mode slicers print in (absolute XYZ, millimetres): the bulk path
        then computes G0/G1 moves itself; otherwise they go through `feed_words`."""
        return not self.xyz_relative and not self.inches

    def feed_lines(self, lines: Iterable[str]) -> None:
        """The general path: one line at a time (any spacing, case, comments, N/checksum)."""
        for line in lines:
            if line and line[0] != ";":
                self.feed_line(line)
        self.check_finite()

    def check_finite(self) -> None:
        if not (math.isfinite(self.time_s) and math.isfinite(self.extruded_mm)):
            raise GcodeInvalidError(
                "a move has a coordinate, extrusion or feedrate that is not a finite number "
                "(nan or inf): this is not a printable G-code file"
            )

    def new_layer(self) -> None:
        self.layer_count += 1
        if self.layer_count == 1:
            # The first-layer temperatures are the targets in force at the first extruding
            # XY move: start G-code often preheats lower (e.g. for probing) before the
            # M109 that sets the first-layer temperature.
            self.first_layer_hotend_c = self.hotend_target_c
            self.first_layer_bed_c = self.bed_target_c

    # ---- the general path -------------------------------------------------------------

    def feed_line(self, raw: str) -> None:
        self.feed_words(parse_words(strip_line(raw)))

    def feed_words(self, words: Params) -> None:
        """One command as (LETTER, number) words, a leading N word allowed."""
        # Skip a leading line number ("N123 G1 X5*45": parse_words already cut the checksum).
        if words and words[0][0] == "N":
            words = words[1:]
        if not words:
            return
        letter, number = words[0]
        if number is None:
            return
        if letter == "G":
            self._g_command(number, words[1:])
        elif letter == "M" and number not in _FREE_TEXT_M_CODES:
            # (The argument of a free-text M-code is a file name or message, not parameters.)
            self._m_command(number, words[1:])

    def _g_command(self, number: float, params: Params) -> None:
        if number in (0.0, 1.0):
            self._linear_move(params)
        elif number in (2.0, 3.0):
            self._arc_move(params, clockwise=number == 2.0)
        elif number == 4.0:
            self._dwell(params)
        elif number == 20.0:
            self.inches = True
        elif number == 21.0:
            self.inches = False
        elif number == 90.0:
            self.xyz_relative = self.e_relative = False
        elif number == 91.0:
            self.xyz_relative = self.e_relative = True
        elif number == 92.0:
            self._set_position(params)
        elif number == 28.0:
            self._home(params)

    def _m_command(self, number: float, params: Params) -> None:
        values = _values(params)
        if number == 82.0:
            self.e_relative = False
        elif number == 83.0:
            self.e_relative = True
        elif number in (104.0, 109.0):
            # Only the first tool's heater: M104 T1 S… preheats another nozzle.
            target = values.get("S", values.get("R"))
            if target is not None and values.get("T", 0.0) == 0.0:
                self.hotend_target_c = target
        elif number in (140.0, 190.0):
            target = values.get("S", values.get("R"))
            if target is not None:
                self.bed_target_c = target

    def _scale(self) -> float:
        return MM_PER_INCH if self.inches else 1.0

    def _targets(self, values: dict[str, float]) -> tuple[float, float, float, float]:
        """The XYZ target and the extruder delta of a move, in mm, honouring the modes."""
        scale = self._scale()
        targets = []
        for axis, current in (("X", self.x_mm), ("Y", self.y_mm), ("Z", self.z_mm)):
            value = values.get(axis)
            if value is None:
                targets.append(current)
            elif self.xyz_relative:
                targets.append(current + value * scale)
            else:
                targets.append(value * scale)
        de = 0.0
        e_value = values.get("E")
        if e_value is not None:
            if self.e_relative:
                # The logical E position moves in relative mode too: a later G90/M82 move
                # is measured from it.
                de = e_value * scale
                self.e_mm += de
            else:
                de = e_value * scale - self.e_mm
                self.e_mm = e_value * scale
        return targets[0], targets[1], targets[2], de

    def _apply_feed(self, values: dict[str, float]) -> None:
        feed = values.get("F")
        if feed is not None and feed > 0.0:
            self.feed_mm_s = feed * self._scale() / 60.0

    def _linear_move(self, params: Params) -> None:
        values = _values(params)
        self.motion_lines += 1
        self._apply_feed(values)
        nx, ny, nz, de = self._targets(values)
        dx, dy, dz = nx - self.x_mm, ny - self.y_mm, nz - self.z_mm
        length = math.sqrt(dx * dx + dy * dy + dz * dz)
        self._finish_move(length, de, nz, moved_xy=bool(dx or dy))
        self.x_mm, self.y_mm, self.z_mm = nx, ny, nz

    def _finish_move(self, length_mm: float, de_mm: float, nz: float, *, moved_xy: bool) -> None:
        if de_mm:
            self.extruded_mm += de_mm
            if length_mm == 0.0:
                length_mm = abs(de_mm)
            elif de_mm > 0.0 and moved_xy and nz > self.layer_z_mm + _LAYER_EPS_MM:
                self.layer_z_mm = nz
                self.new_layer()
        self.time_s += length_mm / self.feed_mm_s

    def _arc_move(self, params: Params, *, clockwise: bool) -> None:
        """G2 (clockwise) / G3 (counter-clockwise) in the XY plane, I/J centre or R radius.

        Marlin `G2_G3.cpp`: I/J are offsets of the centre from the start point; R > 0 takes
        the short arc, R < 0 the long one; equal start and end with I/J is a full circle;
        P<n> adds n full turns. Z moving during the arc makes a helix.
        """
        values = _values(params)
        self.motion_lines += 1
        self._apply_feed(values)
        x0, y0, z0 = self.x_mm, self.y_mm, self.z_mm
        nx, ny, nz, de = self._targets(values)
        scale = self._scale()
        turns = max(0.0, values.get("P", 0.0))
        if "R" in values:
            radius = abs(values["R"]) * scale
            chord = math.hypot(nx - x0, ny - y0)
            if radius == 0.0 or chord == 0.0:
                planar = chord  # degenerate: Marlin falls back to a straight move
            else:
                half = min(1.0, chord / (2.0 * radius))
                angle = 2.0 * math.asin(half)
                if values["R"] < 0.0:
                    angle = 2.0 * math.pi - angle
                planar = radius * (angle + 2.0 * math.pi * turns)
        else:
            cx = x0 + values.get("I", 0.0) * scale
            cy = y0 + values.get("J", 0.0) * scale
            radius = math.hypot(x0 - cx, y0 - cy)
            start = math.atan2(y0 - cy, x0 - cx)
            end = math.atan2(ny - cy, nx - cx)
            sweep = (start - end) if clockwise else (end - start)
            sweep %= 2.0 * math.pi
            if sweep < 1e-9:
                sweep = 2.0 * math.pi  # same start and end point: a full circle
            planar = radius * (sweep + 2.0 * math.pi * turns)
        length = math.hypot(planar, nz - z0)
        self._finish_move(length, de, nz, moved_xy=planar > 0.0)
        self.x_mm, self.y_mm, self.z_mm = nx, ny, nz

    def _dwell(self, params: Params) -> None:
        # Marlin G4: P is milliseconds, S is seconds; S wins when both are given.
        values = _values(params)
        if "S" in values:
            self.time_s += max(0.0, values["S"])
        elif "P" in values:
            self.time_s += max(0.0, values["P"]) / 1000.0

    def _set_position(self, params: Params) -> None:
        # G92 with no words sets every axis to zero (Marlin G92.cpp).
        values = _values(params) if params else {"X": 0.0, "Y": 0.0, "Z": 0.0, "E": 0.0}
        scale = self._scale()
        if "X" in values:
            self.x_mm = values["X"] * scale
        if "Y" in values:
            self.y_mm = values["Y"] * scale
        if "Z" in values:
            self.z_mm = values["Z"] * scale
        if "E" in values:
            self.e_mm = values["E"] * scale

    def _home(self, params: Params) -> None:
        # We do not know where home is; take the origin. Homing time is not modelled.
        axes = {letter for letter, _ in params} & {"X", "Y", "Z"} or {"X", "Y", "Z"}
        if "X" in axes:
            self.x_mm = 0.0
        if "Y" in axes:
            self.y_mm = 0.0
        if "Z" in axes:
            self.z_mm = 0.0


def _values(params: Params) -> dict[str, float]:
    """Parameter letters with a number; a bare letter ("G1 X") moves nothing, as in Marlin."""
    return {letter: value for letter, value in params if value is not None}
