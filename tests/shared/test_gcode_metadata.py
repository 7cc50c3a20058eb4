"""Slicer metadata from sample files written in each slicer's documented comment forms."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from shared.gcode import GcodeAnalysis, SlicerInfo, analyze_file, analyze_stream, density_for
from shared.gcode.metadata import parse_duration_s

SAMPLES = Path(__file__).parent / "gcode_samples"


def both(name: str) -> list[GcodeAnalysis]:
    """The file path (footer read by seeking) and the stream (footer kept while streaming)."""
    path = SAMPLES / name
    data = path.read_bytes()
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    results = [analyze_file(path), analyze_stream(chunks)]
    assert results[0] == results[1]
    return results


def test_prusaslicer() -> None:
    for r in both("prusaslicer.gcode"):
        assert r.slicer == SlicerInfo(name="PrusaSlicer", version="2.9.1+linux-x64-GTK3")
        assert r.estimated_time_s == 3723.0  # normal mode, not silent mode
        assert r.estimated_time_source == "slicer"
        assert r.filament_used_mm == 1234.56
        assert r.filament_used_source == "slicer"
        assert r.filament_used_cm3 == 2.97
        assert r.filament_used_g == 3.77
        assert r.filament_type == "PETG"
        assert r.material_density_g_cm3 == 1.27
        assert r.nozzle_diameter_mm == 0.4
        assert r.layer_height_mm == 0.2
        assert r.layer_count == 2
        assert r.first_layer_hotend_c == 240.0
        assert r.first_layer_bed_c == 85.0
        assert r.has_thumbnails
        # Our own figures stay available: 2.5 purge + 8 x 0.9 perimeters, minus the last
        # retract (the unretract after the first one cancels it).
        assert r.computed_filament_mm == pytest.approx(2.5 + 8 * 0.9 - 0.8)
        assert r.computed_layer_count == 2
        assert r.computed_first_layer_hotend_c == 240.0
        assert r.line_count == 84


def test_orcaslicer() -> None:
    for r in both("orcaslicer.gcode"):
        assert r.slicer == SlicerInfo(name="OrcaSlicer", version="2.1.1")
        assert r.estimated_time_s == 750.0
        assert r.filament_used_mm == 456.78
        assert r.filament_used_cm3 == 1.10
        assert r.filament_used_g == 1.36
        assert r.filament_type == "PLA"
        assert r.layer_count == 5
        assert r.first_layer_hotend_c == 215.0
        assert r.first_layer_bed_c == 65.0  # from M190, Orca's config names it per plate
        assert not r.has_thumbnails


def test_bambustudio() -> None:
    for r in both("bambustudio.gcode"):
        assert r.slicer == SlicerInfo(name="BambuStudio", version="02.00.01.50")
        assert r.estimated_time_s == 399.0  # the total, not the model-only time
        assert r.filament_used_mm == 35.16
        # The header's "[cm^3]" value is really mm³ (field notes §6.2): derive it instead.
        assert r.filament_used_cm3 == pytest.approx(35.16 * math.pi * 0.875**2 / 1000)
        assert r.filament_used_g == 0.11
        assert r.material_density_g_cm3 == 1.26
        assert r.layer_count == 3
        assert r.first_layer_hotend_c == 220.0
        assert r.first_layer_bed_c == 55.0
        assert r.has_thumbnails
        # The 250 °C flush is an E-only move: the first layer starts at 220 °C.
        assert r.computed_first_layer_hotend_c == 220.0
        assert r.computed_layer_count == 3


def test_cura() -> None:
    for r in both("cura.gcode"):
        assert r.slicer == SlicerInfo(name="Cura", version="5.7.1")
        assert r.estimated_time_s == 658.0
        assert r.filament_used_mm == pytest.approx(2334.96)  # metres in the header
        assert r.layer_height_mm == 0.2
        assert r.layer_count == 2
        assert r.filament_type is None
        assert r.filament_used_g is None  # no type, no density: no grams
        assert r.first_layer_hotend_c == 200.0
        assert r.first_layer_bed_c == 60.0
        assert r.computed_filament_mm == pytest.approx(15 + 2.6614)


def test_cura_griffin_header() -> None:
    for r in both("cura_griffin.gcode"):
        assert r.slicer == SlicerInfo(name="Cura", version="4.5.0")
        assert r.estimated_time_s == 3875.0
        assert r.filament_used_cm3 == pytest.approx(7.675)
        assert r.filament_used_mm == pytest.approx(7675 / (math.pi * 0.875**2))
        assert r.filament_used_source == "slicer"
        assert r.nozzle_diameter_mm == 0.4
        assert r.first_layer_hotend_c == 210.0
        assert r.first_layer_bed_c == 60.0


def test_simplify3d() -> None:
    for r in both("simplify3d.gcode"):
        assert r.slicer == SlicerInfo(name="Simplify3D", version="4.1.2")
        assert r.estimated_time_s == 3720.0
        assert r.filament_used_mm == 1836.1
        assert r.filament_used_cm3 == pytest.approx(4.41643)
        assert r.filament_used_g == 5.52
        assert r.material_density_g_cm3 == 1.25
        assert r.nozzle_diameter_mm == 0.4
        assert r.layer_height_mm == 0.2
        assert r.first_layer_hotend_c == 210.0
        assert r.first_layer_bed_c == 60.0


def test_grams_from_the_material_table_when_the_slicer_gives_none(tmp_path: Path) -> None:
    path = tmp_path / "petg.gcode"
    path.write_text("; filament_type = PETG\nM83\nG1 X10 E100 F600\n")
    r = analyze_file(path)
    assert r.material_density_g_cm3 == 1.27
    assert r.filament_used_g == pytest.approx(100 * math.pi * 0.875**2 / 1000 * 1.27)
    # The caller's density wins over the table.
    assert analyze_file(path, material_density_g_cm3=2.0).material_density_g_cm3 == 2.0


def test_footer_beyond_the_head_window_is_found(tmp_path: Path) -> None:
    # 3 MiB of moves, then a PrusaSlicer footer: the file path seeks to it, the stream keeps
    # only the last 1 MiB and finds it too.
    body = "G1 X10 Y10 E.5\nG1 X20 Y10 E.5\n" * 110_000
    text = (
        "; generated by PrusaSlicer 2.8.1 on 2026-11-27 at 06:00:00 UTC\nM83\nG1 F1200\n"
        + body
        + "; filament used [mm] = 987.6\n; estimated printing time (normal mode) = 2d 1h\n"
        "; filament_type = ASA\n"
    )
    path = tmp_path / "big.gcode"
    path.write_text(text)
    data = text.encode()
    for r in (
        analyze_file(path),
        analyze_stream(data[i : i + 65536] for i in range(0, len(data), 65536)),
    ):
        assert r.slicer == SlicerInfo(name="PrusaSlicer", version="2.8.1")
        assert r.filament_used_mm == 987.6
        assert r.estimated_time_s == 2 * 86400 + 3600
        assert r.filament_type == "ASA"
        assert r.material_density_g_cm3 == 1.07
        assert r.line_count == 220_006
        assert r.computed_filament_mm == pytest.approx(110_000)


@pytest.mark.parametrize("marker", [";LAYER_CHANGE", "; CHANGE_LAYER", ";LAYER:7"])
def test_layer_count_from_layer_change_comments(marker: str) -> None:
    # No count in the header: the slicer's layer-change comments count, not the moves (here
    # one height only), including a marker on the very first line.
    text = f"{marker}\nM83\nG1 Z0.2 F600\nG1 X10 E1\n{marker}\n{marker}\nG1 X20 E1\n"
    r = analyze_stream([text.encode()])
    assert r.layer_count == 3
    assert r.computed_layer_count == 1


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h 14m 1s", 4441.0),
        ("1d 2h 3m 4s", 93784.0),
        ("6m 39s", 399.0),
        ("658", 658.0),
        ("1 hours 2 minutes", 3720.0),
        ("45 sec", 45.0),
        ("soon", None),
    ],
)
def test_durations(text: str, seconds: float | None) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize(
    ("material", "density"),
    [("PLA", 1.24), ("petg", 1.27), ("PLA+", 1.24), ("PA12-CF", 1.14), ("Nylon", 1.14),
     ("TPU 95A", 1.21), ("PC", 1.20), ("PCTG", None), ("wood", None), (None, None)],
)  # fmt: skip
def test_density_table(material: str | None, density: float | None) -> None:
    assert density_for(material) == density
