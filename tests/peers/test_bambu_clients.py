"""Two independent Bambu Lab client libraries from PyPI drive our simulated printer.

`bambulabs-api` 2.6.6 and `bambu-printer-manager` 1.0.3 were written against real printers;
each runs in its own Python (scripts/install-bambu-clients) against `apf sim --bambu` on the
real printer's ports (MQTT 8883, FTPS 990, which their high-level classes fix), so these
tests run in the loopback-only network namespace of scripts/test-peers. Each library
connects, reads the state, uploads a project over FTPS, starts it, pauses, resumes and
stops it; the simulator's card and the library's own readings are checked.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.bambu import (
    CLIENT_SCRIPTS,
    CLIENTS_VENV,
    gcode_lasting,
    make_gcode_3mf,
    simulator_process,
)

SCRIPT_TIMEOUT_S = 150


def run_client(script: str, sim: dict[str, Any], project: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [
            str(CLIENTS_VENV / "bin" / "python"),
            str(CLIENT_SCRIPTS / script),
            "--host",
            sim["host"],
            "--serial",
            sim["serial"],
            "--access-code",
            sim["access_code"],
            "--file",
            str(project),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
    )
    steps = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert result.returncode == 0, f"{script} failed: {steps}\n{result.stderr[-3000:]}"
    return steps


def by_step(steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["step"]: s for s in steps}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    # An hour by its header; at 60x the simulator prints it in a minute, long enough to
    # pause and resume, and the client stops it.
    return make_gcode_3mf(tmp_path / "benchy.gcode.3mf", gcode_lasting(60))


def test_bambulabs_api_drives_a_print(tmp_path: Path, project: Path) -> None:
    card = tmp_path / "card"
    with simulator_process(
        "--speed", "60", "--prepare-s", "1", "--report-s", "0.5", card=card
    ) as sim:
        steps = by_step(run_client("bambulabs_api_session.py", sim, project))
    connected = steps["connected"]
    assert connected["state"] == "IDLE"
    assert connected["firmware"] == "01.08.02.00"
    assert connected["trays"] == ["PLA", "PLA", "PETG", "PLA"]
    assert 15 <= connected["bed"] <= 40  # ambient: nothing heats while idle
    assert (card / "benchy.gcode.3mf").read_bytes() == project.read_bytes()
    assert steps["printing"] == {"step": "printing", "state": "RUNNING", "file": "benchy"}
    assert steps["paused"]["state"] == "PAUSE"
    assert steps["resumed"]["state"] == "RUNNING"
    # The library tells a user cancel by this code (0x0300400C) while the printer shows it.
    assert steps["stopped"] == {"step": "stopped", "state": "FAILED", "print_error": 50348044}


def test_bambu_printer_manager_drives_a_print(tmp_path: Path, project: Path) -> None:
    card = tmp_path / "card"
    with simulator_process(
        "--speed", "60", "--prepare-s", "1", "--report-s", "0.5", card=card
    ) as sim:
        steps = by_step(run_client("bambu_printer_manager_session.py", sim, project))
    assert steps["connected"]["state"] == "IDLE"
    assert steps["uploaded"]["exists"] is True
    assert (card / "cache" / "benchy.gcode.3mf").read_bytes() == project.read_bytes()
    assert steps["printing"]["state"] == "RUNNING"
    assert steps["printing"]["file"] == "benchy"
    assert steps["paused"]["state"] == "PAUSE"
    assert steps["resumed"]["state"] == "RUNNING"
    assert steps["stopped"]["state"] == "FAILED"
