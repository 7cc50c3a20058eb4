"""Slicer metadata from the comment lines at the head and the tail of a G-code file.

Each slicer writes `; key = value` (PrusaSlicer family config), `; key: value` (Bambu
Studio header, Simplify3D summary), `;KEY:value` (Cura) or `;   key,value` (Simplify3D
settings). A comment line is split at its first `=`, `:` or `,` and the key, lower-cased,
is looked up in one table; docs/gcode.md lists every key read, with examples. Sources:
field-notes §6 (Moonraker's extractor, Arksine/moonraker@d5ee171
moonraker/components/file_manager/metadata.py, and real slicer output).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from shared.gcode.result import SlicerInfo

_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]+)")
_UNIT_S = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_SEPARATORS = "=:,"


def _first(text: str) -> float | None:
    match = _NUMBER.search(text)
    return float(match.group()) if match else None


def _sum(text: str) -> float | None:
    """Per-extruder lists ("12.5, 3.0" or "12.5;3.0") add up."""
    numbers = _NUMBER.findall(text)
    return sum(float(n) for n in numbers) if numbers else None


def _sum_m_to_mm(text: str) -> float | None:
    # Cura's `;Filament used: 2.33496m` is in metres, one value per extruder.
    total_m = _sum(text)
    return None if total_m is None else total_m * 1000.0


def _mm3_to_cm3(text: str) -> float | None:
    value = _first(text)
    return None if value is None else value / 1000.0


def parse_duration_s(text: str) -> float | None:
    """ "1d 2h 3m 4s", "6m 39s", "1 hours 2 minutes", "658" (seconds) -> seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts:
        return None
    total_s = 0.0
    for amount, unit in parts:
        factor = _UNIT_S.get(unit[0].lower())
        if factor is None:
            return None
        total_s += float(amount) * factor
    return total_s


def _bambu_time(text: str) -> float | None:
    # `; model printing time: 21s; total estimated time: 6m 39s`: the total counts the
    # start G-code (heating, calibration); that is what the printer will be busy for.
    _, found, total = text.partition("total estimated time:")
    return parse_duration_s(total if found else text)


Parser = Callable[[str], float | None]

# key (lower case) -> (field, parser). First value found wins.
_KEYS: dict[str, tuple[str, Parser]] = {
    # PrusaSlicer / SuperSlicer / OrcaSlicer footer and config block
    "estimated printing time (normal mode)": ("time_s", parse_duration_s),
    "estimated printing time": ("time_s", parse_duration_s),
    "estimated printing time (silent mode)": ("time_silent_s", parse_duration_s),
    "filament used [mm]": ("filament_mm", _sum),
    "filament used [cm3]": ("filament_cm3", _sum),
    "filament used [g]": ("filament_g", _sum),
    "total filament used [g]": ("filament_total_g", _first),
    "filament_density": ("density_g_cm3", _first),
    "filament_diameter": ("diameter_mm", _first),
    "nozzle_diameter": ("nozzle_mm", _first),
    "layer_height": ("layer_height_mm", _first),
    "first_layer_temperature": ("hotend_c", _first),
    "first_layer_bed_temperature": ("bed_c", _first),
    "total layers count": ("layer_count", _first),
    # Bambu Studio / OrcaSlicer header block and config
    "model printing time": ("time_s", _bambu_time),
    "total estimated time": ("time_s", parse_duration_s),
    "total layer number": ("layer_count", _first),
    "total filament length [mm]": ("filament_mm", _sum),
    "total filament weight [g]": ("filament_total_g", _sum),
    "nozzle_temperature_initial_layer": ("hotend_c", _first),
    # Cura (Marlin flavour header, and the Griffin header of Ultimaker printers)
    "time": ("time_s", parse_duration_s),
    "print.time": ("time_s", parse_duration_s),
    "filament used": ("filament_mm", _sum_m_to_mm),
    "layer height": ("layer_height_mm", _first),
    "layer_count": ("layer_count", _first),
    "nozzle diameter": ("nozzle_mm", _first),
    "extruder_train.0.nozzle.diameter": ("nozzle_mm", _first),
    "extruder_train.0.initial_temperature": ("hotend_c", _first),
    "build_plate.initial_temperature": ("bed_c", _first),
    # Simplify3D settings header and build summary footer
    "layerheight": ("layer_height_mm", _first),
    "extruderdiameter": ("nozzle_mm", _first),
    "nozzlediameter": ("nozzle_mm", _first),
    "filamentdiameters": ("diameter_mm", _first),
    "filamentdensities": ("density_g_cm3", _first),
    "build time": ("time_s", parse_duration_s),
    "filament length": ("filament_mm", _first),
    "material length": ("filament_mm", _first),
    "plastic volume": ("filament_cm3", _mm3_to_cm3),
    "plastic weight": ("filament_total_g", _first),
    "material weight": ("filament_total_g", _first),
}
_TYPE_KEYS = frozenset({"filament_type", "filament type"})
_CURA_NAMES = {"cura_steamengine": "Cura"}


class SlicerMetadata:
    """Accumulates what the comment lines say; feed it head lines, then tail lines."""

    def __init__(self) -> None:
        self.slicer: SlicerInfo | None = None
        self.has_thumbnails = False
        self.filament_types: list[str] = []
        self.numbers: dict[str, float] = {}
        self._in_thumbnail = False
        self._griffin_volume_cm3: dict[str, float] = {}
        self._generator: dict[str, str] = {}
        self._s3d_heaters: list[str] = []
        self._s3d_setpoints: list[str] = []

    def feed_lines(self, lines: Iterable[str]) -> None:
        for line in lines:
            if line.startswith(";"):
                self._comment(line.lstrip(";").strip())
        self._in_thumbnail = False  # a block cut at the window edge must not swallow more

    def _comment(self, body: str) -> None:
        lower = body.lower()
        if self._in_thumbnail:
            if lower.startswith("thumbnail") and lower.endswith(" end"):
                self._in_thumbnail = False
            return
        if lower.startswith("thumbnail") and " begin" in lower:
            # `; thumbnail begin 300x300 12345` (also thumbnail_JPG / thumbnail_QOI).
            self.has_thumbnails = self._in_thumbnail = True
            return
        if self.slicer is None:
            self.slicer = _identify(body, lower)
        cut = min((i for i in (body.find(sep) for sep in _SEPARATORS) if i > 0), default=-1)
        if cut < 0:
            return
        key = lower[:cut].strip()
        value = body[cut + 1 :].strip()
        entry = _KEYS.get(key)
        if entry is not None:
            field, parse = entry
            if field not in self.numbers:
                number = parse(value)
                if number is not None:
                    self.numbers[field] = number
        elif key in _TYPE_KEYS:
            if not self.filament_types:
                self.filament_types = _types(value)
        else:
            self._other_key(key, value)

    def _other_key(self, key: str, value: str) -> None:
        if key.startswith("extruder_train.") and key.endswith(".material.volume_used"):
            # Griffin header: mm³ per extruder.
            volume_mm3 = _first(value)
            if volume_mm3 is not None:
                self._griffin_volume_cm3.setdefault(key, volume_mm3 / 1000.0)
        elif key in ("generator.name", "generator.version"):
            self._generator.setdefault(key, value)
        elif key == "temperaturename" and not self._s3d_heaters:
            self._s3d_heaters = [v.strip() for v in value.split(",")]
        elif key == "temperaturesetpointtemperatures" and not self._s3d_setpoints:
            self._s3d_setpoints = [v.strip() for v in value.split(",")]

    def finish(self) -> None:
        """Fold the multi-line forms (Griffin, Simplify3D heaters) into `numbers`."""
        if self._griffin_volume_cm3:
            self.numbers.setdefault("filament_cm3", sum(self._griffin_volume_cm3.values()))
        if self.slicer is None and "generator.name" in self._generator:
            name = self._generator["generator.name"]
            self.slicer = SlicerInfo(
                name=_CURA_NAMES.get(name.lower(), name),
                version=self._generator.get("generator.version"),
            )
        # Simplify3D 4: `;   temperatureName,Extruder 1,Heated Bed` and
        # `;   temperatureSetpointTemperatures,210,60` pair up by position.
        for heater, setpoint in zip(self._s3d_heaters, self._s3d_setpoints, strict=False):
            field = {"extruder 1": "hotend_c", "heated bed": "bed_c"}.get(heater.lower())
            value = _first(setpoint)
            if field is not None and value is not None:
                self.numbers.setdefault(field, value)

    def number(self, field: str) -> float | None:
        return self.numbers.get(field)

    @property
    def filament_type(self) -> str | None:
        return ";".join(self.filament_types) if self.filament_types else None


def _types(value: str) -> list[str]:
    """ "PLA;PLA;PETG" or "PLA,PETG" -> ["PLA", "PETG"] (unique, in order)."""
    types: list[str] = []
    for part in re.split(r"[;,]", value):
        name = part.strip().strip("\"'").strip()
        if name and name not in types:
            types.append(name)
    return types


def _identify(body: str, lower: str) -> SlicerInfo | None:
    if lower.startswith("generated by "):
        # `; generated by PrusaSlicer 2.9.1+linux-x64-GTK3 on 2025-01-01 at 10:00:00 UTC`
        # (also SuperSlicer, OrcaSlicer, QIDISlicer, Slic3r).
        product = body[len("generated by ") :].split(" on ", 1)[0].strip()
        return _name_version(product)
    if lower.startswith("bambustudio "):
        return SlicerInfo(name="BambuStudio", version=body.split(None, 1)[1].strip())
    if lower.startswith("generated with cura_steamengine"):
        version = body[len("generated with cura_steamengine") :].strip()
        return SlicerInfo(name="Cura", version=version or None)
    if lower.startswith("g-code generated by simplify3d(r) version"):
        version = body[len("g-code generated by simplify3d(r) version") :].strip()
        return SlicerInfo(name="Simplify3D", version=version or None)
    return None


def _name_version(product: str) -> SlicerInfo | None:
    if not product:
        return None
    name, _, version = product.rpartition(" ")
    if not name or not version[:1].isdigit():
        return SlicerInfo(name=product)
    return SlicerInfo(name=name, version=version)
