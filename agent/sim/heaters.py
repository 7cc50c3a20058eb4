"""Heaters that take time: a linear ramp toward the target, evaluated lazily from the clock.

Nothing ticks: a heater stores where it was at the last change and computes its temperature
at any later time, so an idle simulator costs no CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

# Marlin's TEMP_WINDOW / TEMP_BED_WINDOW: M109/M190 count as reached within 1 °C.
TEMP_WINDOW_C = 1.0


@dataclass(slots=True)
class Heater:
    label: str  # "T0", "T1", "B"
    heat_rate_c_per_s: float
    cool_rate_c_per_s: float
    ambient_c: float
    _temp_c: float = 0.0
    _since_s: float = 0.0
    target_c: float = 0.0
    faulted: bool = False

    @classmethod
    def at_ambient(cls, label: str, heat_rate: float, ambient_c: float, now_s: float) -> Heater:
        # Cooling is slower than heating on real hotends and beds; half the rate is a
        # plausible figure and keeps cool-down tests short.
        return cls(label, heat_rate, heat_rate / 2, ambient_c, ambient_c, now_s)

    def temp_c(self, now_s: float) -> float:
        elapsed_s = max(0.0, now_s - self._since_s)
        goal_c = max(self.target_c, self.ambient_c)
        if self._temp_c < goal_c:
            return min(goal_c, self._temp_c + self.heat_rate_c_per_s * elapsed_s)
        return max(goal_c, self._temp_c - self.cool_rate_c_per_s * elapsed_s)

    def set_target(self, target_c: float, now_s: float) -> None:
        self._temp_c = self.temp_c(now_s)
        self._since_s = now_s
        self.target_c = max(0.0, target_c)

    def power(self, now_s: float) -> int:
        """The PWM figure firmware prints after `@:` (0..127 on Marlin AVR)."""
        if self.target_c <= 0:
            return 0
        return 127 if self.temp_c(now_s) < self.target_c - TEMP_WINDOW_C else 40

    def reached_at(self, now_s: float, *, wait_cooling: bool) -> float:
        """When the temperature will be within TEMP_WINDOW_C of the target.

        Marlin's `M109 S` waits only while heating; `M109 R` also waits while cooling.
        """
        temp_c = self.temp_c(now_s)
        target_c = self.target_c
        if temp_c >= target_c - TEMP_WINDOW_C:
            if not wait_cooling or temp_c <= target_c + TEMP_WINDOW_C:
                return now_s
            goal_c = max(target_c, self.ambient_c)
            if goal_c > target_c + TEMP_WINDOW_C:
                # Cannot cool below ambient: the wait would never end. Real firmware hangs
                # too; cap it so a test cannot wedge (one hour).
                return now_s + 3600.0
            return now_s + (temp_c - target_c - TEMP_WINDOW_C) / self.cool_rate_c_per_s
        return now_s + (target_c - TEMP_WINDOW_C - temp_c) / self.heat_rate_c_per_s

    def reset(self, now_s: float) -> None:
        self.set_target(0.0, now_s)
        self.faulted = False


def make_heaters(
    hotends: int, heat_rate: float, bed_rate: float, ambient_c: float, now_s: float
) -> tuple[list[Heater], Heater]:
    tools = [Heater.at_ambient(f"T{i}", heat_rate, ambient_c, now_s) for i in range(hotends)]
    return tools, Heater.at_ambient("B", bed_rate, ambient_c, now_s)
