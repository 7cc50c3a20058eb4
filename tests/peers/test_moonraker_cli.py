"""`apf print --moonraker` and `apf agent scan` as a person runs them, against a real
Klipper and Moonraker (tests/peers/conftest.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.klipper_stack import KlipperStack, moves_gcode
from tests.support.ports import free_port


def apf(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apf", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_apf_print_through_moonraker(klipper: KlipperStack, tmp_path: Path) -> None:
    gcode = tmp_path / "cli.gcode"
    gcode.write_text(moves_gcode(2))
    done = apf("print", str(gcode), "--moonraker", klipper.url, "--api-key", klipper.api_key)
    assert done.returncode == 0, done.stderr
    assert "printer: Klipper v0.13.0" in done.stderr
    assert "printed in" in done.stderr


def test_apf_print_says_why_klipper_stopped_the_print(
    klipper: KlipperStack, tmp_path: Path
) -> None:
    gcode = tmp_path / "extrudes.gcode"
    gcode.write_text(moves_gcode(1) + "G1 X5 E1 F600\n")
    done = apf("print", str(gcode), "--moonraker", klipper.url, "--api-key", klipper.api_key)
    assert done.returncode == 1, done.stderr
    assert "Extrude when no extruder present" in done.stderr


def test_apf_print_with_a_wrong_key(klipper: KlipperStack, tmp_path: Path) -> None:
    gcode = tmp_path / "cli.gcode"
    gcode.write_text(moves_gcode(1))
    done = apf("print", str(gcode), "--moonraker", klipper.url, "--api-key", "0" * 32)
    assert done.returncode == 3, done.stderr
    assert "Moonraker refused the API key" in done.stderr


def test_apf_agent_scan_finds_moonraker(klipper: KlipperStack) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    done = apf("agent", "scan", "--moonraker", klipper.url, "--moonraker", nobody, "--json")
    assert done.returncode == 0, done.stderr
    found = [r for r in json.loads(done.stdout) if r["kind"] == "moonraker"]
    # Moonraker wants a key here: found all the same, and said so; nothing at the other URL.
    assert found == [
        {
            "kind": "moonraker",
            "url": klipper.url,
            "moonraker_version": None,
            "klippy_state": None,
            "klipper_version": None,
            "needs_api_key": True,
            "error": None,
        }
    ]
    text = apf("agent", "scan", "--moonraker", klipper.url)
    assert 'kind = "moonraker"' in text.stdout and 'api_key = "…"' in text.stdout, text.stdout
