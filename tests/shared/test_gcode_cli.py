"""`apf gcode analyze`: the summary, --json, and exit status 1 with the reason on stderr."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from apf.main import main
from shared.gcode import GcodeAnalysis, analyze_file

SAMPLES = Path(__file__).parent / "gcode_samples"


def test_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gcode", "analyze", str(SAMPLES / "prusaslicer.gcode")]) == 0
    out = capsys.readouterr().out
    assert "Slicer:" in out and "PrusaSlicer 2.9.1+linux-x64-GTK3" in out
    assert "1h 02m 03s (slicer)" in out
    assert "1.23 m, 2.97 cm³, 3.77 g (slicer)" in out
    assert "PETG, 1.75 mm, 1.27 g/cm³" in out
    assert "hotend 240 °C, bed 85 °C" in out
    assert "Thumbnails:" in out and "yes" in out


def test_json_is_the_analysis(capsys: pytest.CaptureFixture[str]) -> None:
    path = SAMPLES / "known_path.gcode"
    assert main(["gcode", "analyze", "--json", "--density", "1.24", str(path)]) == 0
    printed = msgspec.json.decode(capsys.readouterr().out, type=GcodeAnalysis)
    assert printed == analyze_file(path, material_density_g_cm3=1.24)
    assert printed.filament_used_g is not None


def test_invalid_file_exits_1_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.gcode"
    path.write_text("; just notes\nM104 S200\n")
    assert main(["gcode", "analyze", "--json", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no motion commands (G0/G1/G2/G3)" in captured.err


def test_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gcode", "analyze", str(tmp_path / "absent.gcode")]) == 1
    assert "No such file or directory" in capsys.readouterr().err
