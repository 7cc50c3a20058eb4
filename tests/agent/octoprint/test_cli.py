"""`apf print FILE --octoprint URL --api-key KEY` as a person runs it, against real OctoPrint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent.octoprint.server import OctoPrintServer, write_gcode

pytestmark = pytest.mark.octoprint


def apf_print(gcode: Path, url: str, key: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "apf", "print", str(gcode), "--octoprint", url]
    return subprocess.run(
        [*command, "--api-key", key], capture_output=True, text=True, timeout=90, check=False
    )


def test_apf_print_through_octoprint(octoprint: OctoPrintServer, tmp_path: Path) -> None:
    gcode = write_gcode(tmp_path / "cli.gcode", duration_s=1.5)
    done = apf_print(gcode, octoprint.url, octoprint.api_key)
    assert done.returncode == 0, done.stderr
    assert "printer: OctoPrint 1.11." in done.stderr
    assert "printed in" in done.stderr


def test_apf_print_with_a_wrong_key(octoprint: OctoPrintServer, tmp_path: Path) -> None:
    gcode = write_gcode(tmp_path / "cli.gcode", duration_s=0.5)
    done = apf_print(gcode, octoprint.url, "wrong-key")
    assert done.returncode == 3, done.stderr
    assert "OctoPrint rejected the API key" in done.stderr
