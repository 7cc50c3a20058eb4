"""Where the toolhead is, for M114: absolute/relative moves, G92, homing."""

from __future__ import annotations

import re

_AXIS = re.compile(r"([XYZE])\s*([-+]?\d*\.?\d+)", re.IGNORECASE)
_AXES = "XYZE"
_INDEX = {"X": 0, "Y": 1, "Z": 2, "E": 3, "x": 0, "y": 1, "z": 2, "e": 3}
# Marlin's default DEFAULT_AXIS_STEPS_PER_UNIT for the `Count` part of M114.
_STEPS_PER_MM = (80.0, 80.0, 400.0)


class Position:
    __slots__ = ("absolute_e", "absolute_xyz", "mm")

    def __init__(self) -> None:
        self.mm = [0.0, 0.0, 0.0, 0.0]
        self.absolute_xyz = True  # G90 / G91
        self.absolute_e = True  # M82 / M83 (G90/G91 set both, as in Marlin)

    def reset(self) -> None:
        self.mm = [0.0, 0.0, 0.0, 0.0]
        self.absolute_xyz = self.absolute_e = True

    def move(self, command: str) -> None:
        # Every line of a print goes through here: split on spaces (the form hosts send)
        # and fall back to the regex only for packed forms like `G1X10Y5`.
        words = command.split()
        try:
            pairs = [(_INDEX[w[0]], float(w[1:])) for w in words[1:] if w[0] in _INDEX]
        except ValueError:
            pairs = []
        if not pairs and len(command) > 3:
            pairs = [(_AXES.index(a.upper()), float(v)) for a, v in _AXIS.findall(command[2:])]
        mm = self.mm
        for index, value in pairs:
            absolute = self.absolute_e if index == 3 else self.absolute_xyz
            mm[index] = value if absolute else mm[index] + value

    def set_here(self, command: str) -> None:
        """G92: the current position is called these values (none given: all zero)."""
        found = _AXIS.findall(command[3:])
        if not found:
            self.mm = [0.0, 0.0, 0.0, 0.0]
        for letter, value in found:
            self.mm[_AXES.index(letter.upper())] = float(value)

    def home(self) -> None:
        self.mm[0:3] = [0.0, 0.0, 0.0]

    def marlin_report(self) -> str:
        # Marlin report_current_position(): two decimals, then the stepper counts.
        x, y, z, e = self.mm
        counts = " ".join(
            f"{axis}:{round(value * steps)}"
            for axis, value, steps in zip("XYZ", self.mm, _STEPS_PER_MM, strict=False)
        )
        return f"X:{x:.2f} Y:{y:.2f} Z:{z:.2f} E:{e:.2f} Count {counts}"

    def klipper_report(self) -> str:
        # klippy gcode_move.py cmd_M114: "X:%.3f Y:%.3f Z:%.3f E:%.3f"
        x, y, z, e = self.mm
        return f"X:{x:.3f} Y:{y:.3f} Z:{z:.3f} E:{e:.3f}"
