"""What an analysis returns: one frozen msgspec Struct, ready for JSON (API, MQTT, CLI)."""

from __future__ import annotations

from typing import Literal

import msgspec

Source = Literal["slicer", "computed"]


class SlicerInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The program that wrote the file, from its header comment ("PrusaSlicer", "2.9.1")."""

    name: str
    version: str | None = None


class GcodeAnalysis(msgspec.Struct, frozen=True, kw_only=True):
    """A validated G-code file: counts, slicer metadata and our own estimate from the moves.

    The headline fields (`estimated_time_s`, `filament_used_*`, `layer_count`,
    `first_layer_*`) come from the slicer's comments when it wrote them and from the
    moves otherwise; `*_source` says which. The `computed_*` fields are always our own
    figures, so the two can be compared.
    """

    size_bytes: int
    line_count: int
    # G0/G1/G2/G3 lines.
    motion_line_count: int
    slicer: SlicerInfo | None
    estimated_time_s: float
    estimated_time_source: Source
    filament_used_mm: float
    filament_used_source: Source
    filament_used_cm3: float
    # None when neither the slicer, the caller nor the material type gives a density.
    filament_used_g: float | None
    filament_type: str | None
    filament_diameter_mm: float
    material_density_g_cm3: float | None
    nozzle_diameter_mm: float | None
    layer_height_mm: float | None
    layer_count: int | None
    first_layer_hotend_c: float | None
    first_layer_bed_c: float | None
    has_thumbnails: bool
    computed_time_s: float
    computed_filament_mm: float
    computed_filament_cm3: float
    computed_filament_g: float | None
    computed_layer_count: int
    computed_first_layer_hotend_c: float | None
    computed_first_layer_bed_c: float | None
