"""The move-based estimate: hand-computed paths, one feature at a time, and the fast path
checked against the general parser on generated programs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.gcode import GcodeInvalidError, analyze_file, analyze_stream
from shared.gcode.bulk import feed_block
from shared.gcode.motion import MotionModel

SAMPLES = Path(__file__).parent / "gcode_samples"


def run(program: str) -> MotionModel:
    model = MotionModel()
    feed_block(model, program.encode())
    return model


def test_known_path_matches_the_hand_computation() -> None:
    # known_path.gcode, move by move (feedrates in mm/min, so mm/s = F / 60):
    expected_time_s = (
        math.hypot(30, 40, 0.2) / 100  # travel from the origin at F6000
        + 30 / 20  # X30 -> X60 at F1200
        + 40 / 20  # Y40 -> Y80
        + (10 * math.pi) / 20  # G2 half circle, I10: radius 10
        + (10 * math.pi) / 20  # G3 half circle, R10 over a 20 mm chord
        + 0.8 / 40  # retract at F2400
        + 0.5  # G4 P500 (ms)
        + 2.0  # G4 S2 (s)
        + 0.8 / 40  # unretract, modal F2400
        + 0.2 / 10  # G91 Z+0.2 at F600
        + 10 / 20  # G91 X-10 at F1200
        + (20 * math.pi) / 10  # G3 full circle (end == start), radius 10, F600
        + math.hypot(50 - 25.4, 80 - 76.2) / (120 * 25.4 / 60)  # G20: X1 Y3 inch, F120 in/min
        + 10 / 10  # M82 absolute E, Y76.2 -> Y86.2 at F600
        + 0.5 / 30  # E2.0 -> E1.5 at F1800
        + 0.5 / 30  # after G92 E0: E0 -> E0.5
    )
    # 1.5 + 2 + 1 + 1 - 0.8 + 0.8 + 0.5 (G91 makes E relative) + 3 + 2 - 0.5 + 0.5
    expected_filament_mm = 11.0
    for result in (
        analyze_file(SAMPLES / "known_path.gcode"),
        analyze_stream([(SAMPLES / "known_path.gcode").read_bytes()]),
    ):
        assert result.estimated_time_source == "computed"
        assert result.estimated_time_s == pytest.approx(expected_time_s, rel=0.10)
        assert result.filament_used_mm == pytest.approx(expected_filament_mm, rel=0.02)
        # Our model has no acceleration, so on this path it should be close to exact.
        assert result.computed_time_s == pytest.approx(expected_time_s, rel=1e-6)
        assert result.computed_filament_mm == pytest.approx(expected_filament_mm, rel=1e-9)
        assert result.filament_used_cm3 == pytest.approx(11.0 * math.pi * 0.875**2 / 1000)
        assert result.motion_line_count == 15
        assert result.computed_layer_count == 2
        # Targets at the first extruding move, not the 170 °C preheat.
        assert result.first_layer_hotend_c == 210.0
        assert result.first_layer_bed_c == 60.0


def test_grams_use_the_callers_density_and_diameter() -> None:
    result = analyze_file(
        SAMPLES / "known_path.gcode", material_density_g_cm3=1.24, filament_diameter_mm=2.85
    )
    cm3 = 11.0 * math.pi * (2.85 / 2) ** 2 / 1000
    assert result.filament_used_cm3 == pytest.approx(cm3)
    assert result.filament_used_g == pytest.approx(cm3 * 1.24)
    assert result.computed_filament_g == pytest.approx(cm3 * 1.24)


@pytest.mark.parametrize(
    ("program", "time_s", "filament_mm"),
    [
        # Default feedrate before any F: 1500 mm/min = 25 mm/s (Marlin).
        ("G1 X50", 2.0, 0.0),
        ("G1 X10 F600\nG1 X20", 2.0, 0.0),  # modal F
        ("G0 X10 F600\nG1 X20 F1200", 1.5, 0.0),  # G0 is timed like G1
        ("G1 X3 Y4 F60", 5.0, 0.0),
        ("G1 X0 Y0 Z10 F60", 10.0, 0.0),  # Z only
        ("M83\nG1 E5 F300", 1.0, 5.0),  # E only: timed by its own length
        ("M82\nG1 E5 F300\nG1 E3", 1.4, 3.0),  # absolute E, retract back
        ("M83\nG1 E5 F300\nG1 E-2", 1.4, 3.0),  # relative E
        ("M83\nG1 X10 E2 F600", 1.0, 2.0),  # E with XY: timed by the XY length
        ("G4 P1500", 1.5, 0.0),
        ("G4 S3", 3.0, 0.0),
        ("G4 S1 P9000", 1.0, 0.0),  # S wins (Marlin)
        ("G91\nG1 X10 F600\nG1 X10", 2.0, 0.0),
        ("G91\nG1 X10 F600\nG90\nG1 X10", 1.0, 0.0),
        ("G20\nG1 X1 F60", 1.0, 0.0),  # 25.4 mm at 60 in/min
        ("G92 X100\nG1 X110 F600", 1.0, 0.0),
        ("G92 E10\nM82\nG1 E12 F120", 1.0, 2.0),
        ("G1 X10 F600\nG28\nG1 X10", 2.0, 0.0),  # G28: back at the origin
        ("G1 X10 F600\nG1 X20 F0", 2.0, 0.0),  # F0 is ignored, not a division by zero
        ("G2 X20 Y0 I10 J0 F600", 10 * math.pi / 10, 0.0),  # CW over the top: half circle
        ("G3 X20 Y0 I10 J0 F600", 10 * math.pi / 10, 0.0),
        ("G2 X0 Y0 I10 J0 F600", 20 * math.pi / 10, 0.0),  # full circle
        ("G2 X10 Y10 R10 F600", 10 * math.pi / 2 / 10, 0.0),  # quarter
        ("G2 X10 Y10 R-10 F600", 10 * 3 * math.pi / 2 / 10, 0.0),  # R<0: the long way
        ("G2 X20 Y0 Z10 I10 J0 F600", math.hypot(10 * math.pi, 10) / 10, 0.0),  # helix
        # G90 after M83 makes E absolute again (Marlin): E2 -> E1 is a 1 mm retract.
        ("M83\nG1 X10 E1 F600\nG91\nG1 E1\nG90\nG1 E1", 1.0 + 0.1 + 0.1, 1.0),
        ("N1 G1 X10 F600*33", 1.0, 0.0),  # line number and checksum
        ("g1 x10 f600", 1.0, 0.0),  # lowercase
        ("G1X10F600", 1.0, 0.0),  # no spaces
        ("G1 X10 F600 ; comment\nG1 (paren comment) X20", 2.0, 0.0),
        ("G1 X.5 F60\nG1 X-.5", 1.5, 0.0),  # leading-dot numbers
        ("M117 Printing X100\nG1 X10 F600", 1.0, 0.0),  # a message is not a move
    ],
)
def test_single_features(program: str, time_s: float, filament_mm: float) -> None:
    model = run(program + "\n")
    assert model.time_s == pytest.approx(time_s, rel=1e-9)
    assert model.extruded_mm == pytest.approx(filament_mm, abs=1e-12)


def test_layers_count_extruding_moves_at_a_new_height() -> None:
    program = "\n".join(
        [
            "M83",
            "M140 S55",
            "M104 S150",
            "M109 S220",
            "G1 Z5 F600",
            "G1 X5 Y5",  # travel at z 5: not a layer
            "G1 E3",  # E-only prime: not a layer
            "G1 Z0.2",
            "G1 X10 E1",  # layer 1
            "G1 Z0.6",
            "G1 X20",  # z-hop travel
            "G1 Z0.2",
            "G1 X30 E1",  # same layer
            "M104 T1 S100",  # another tool's heater: ignored
            "G1 Z0.4",
            "G1 X40 E1",  # layer 2
            "M104 S200",
            "G1 Z0.6",
            "G1 X50 E1",  # layer 3
        ]
    )
    model = run(program)
    assert model.layer_count == 3
    assert model.first_layer_hotend_c == 220.0
    assert model.first_layer_bed_c == 55.0


def test_overflowing_numbers_are_rejected() -> None:
    with pytest.raises(GcodeInvalidError, match="finite"):
        run("G1 X" + "9" * 400 + " F600\n")


def test_words_that_are_not_numbers_move_nothing() -> None:
    # "nan" is not a G-code number: X has no value (as for a bare "X"), E is not read.
    model = run("G1 Xnan Yinf F600\nG1 X10\n")
    assert model.time_s == pytest.approx(1.0)
    assert math.isfinite(model.x_mm)


# ---- the fast path gives the same figures as the general parser -----------------------

_numbers = st.one_of(
    st.integers(-300, 300).map(str),
    st.floats(-300, 300, allow_nan=False).map(lambda v: f"{v:.3f}"),
    st.floats(0, 0.99).map(lambda v: f"{v:.3f}"[1:]),  # ".123"
    st.floats(0, 0.99).map(lambda v: "-" + f"{v:.3f}"[1:]),  # "-.123"
)
_feeds = st.integers(1, 12000).map(str)


@st.composite
def _line(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 13))
    if kind <= 5:
        letters = draw(st.lists(st.sampled_from("XYZEF"), unique=True, max_size=5))
        words = [f"{a}{draw(_feeds if a == 'F' else _numbers)}" for a in letters]
        return f"G{draw(st.sampled_from('01'))} " + " ".join(words)
    if kind == 6:
        centre = f"I{draw(_numbers)} J{draw(_numbers)}"
        radius = f"R{draw(_numbers)}"
        return (
            f"G{draw(st.sampled_from('23'))} X{draw(_numbers)} Y{draw(_numbers)} "
            f"{draw(st.sampled_from([centre, radius]))} E{draw(_numbers)}"
        )
    if kind == 7:
        return draw(st.sampled_from(["G90", "G91", "M82", "M83", "G20", "G21", "G28", "G28 X"]))
    if kind == 8:
        return f"G92 {draw(st.sampled_from('XYZE'))}{draw(_numbers)}"
    if kind == 9:
        return f"M{draw(st.sampled_from(['104', '109', '140', '190']))} S{draw(_feeds)}"
    if kind == 10:
        return f"G4 {draw(st.sampled_from('PS'))}{draw(st.integers(0, 3000))}"
    if kind == 11:
        return draw(st.sampled_from([";TYPE:Perimeter", "", "; x = 1", "M107", "T0"]))
    if kind == 12:
        return draw(st.sampled_from(["M117 Hello", 'M862.3 P "MK4"', "N5 G1 X1*12", "g1 x2"]))
    return f"G1 X{draw(_numbers)} ; comment"


@settings(max_examples=150, deadline=None)
@given(st.lists(_line(), max_size=60))
def test_fast_path_equals_general_parser(lines: list[str]) -> None:
    program = "\n".join(lines) + "\n"
    reference = MotionModel()
    reference.feed_lines(program.split("\n"))
    fast = run(program)
    assert fast.time_s == pytest.approx(reference.time_s, rel=1e-9, abs=1e-9)
    assert fast.extruded_mm == pytest.approx(reference.extruded_mm, rel=1e-9, abs=1e-9)
    assert fast.motion_lines == reference.motion_lines
    assert fast.layer_count == reference.layer_count
    assert (fast.x_mm, fast.y_mm, fast.z_mm) == pytest.approx(
        (reference.x_mm, reference.y_mm, reference.z_mm)
    )
    assert fast.first_layer_hotend_c == reference.first_layer_hotend_c
    assert fast.first_layer_bed_c == reference.first_layer_bed_c
