"""`apf print FILE --bambu HOST --serial SN --access-code CODE` against the simulator: the
same progress and exit-status rules as the other printer kinds."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path

from agent.sim.bambu.model import Faults
from agent.sim.bambu.printer import BambuSimulator, running_simulator
from tests.agent.bambu.test_driver import FAST
from tests.support.bambu import gcode_lasting

REPO = Path(__file__).resolve().parents[3]


async def apf_print(sim: BambuSimulator, path: Path, *extra: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "apf",
        "print",
        str(path),
        "--bambu",
        "127.0.0.1",
        "--mqtt-port",
        str(sim.mqtt.port),
        "--ftps-port",
        str(sim.ftps.port),
        *extra,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


def credentials(sim: BambuSimulator) -> tuple[str, ...]:
    return ("--serial", sim.settings.serial, "--access-code", sim.settings.access_code)


async def test_prints_with_progress_and_exits_zero(tmp_path: Path) -> None:
    path = tmp_path / "cube.gcode"
    path.write_text(gcode_lasting(5))
    async with running_simulator(dataclasses.replace(FAST, speed=100.0)) as sim:
        code, out = await apf_print(sim, path, *credentials(sim), "--fingerprint", sim.fingerprint)
    assert code == 0, out
    assert "01.08.02.00" in out  # the firmware, named before the print starts
    assert "printed in" in out


async def test_a_failed_print_exits_one_with_the_printers_reason(tmp_path: Path) -> None:
    path = tmp_path / "cube.gcode"
    path.write_text(gcode_lasting(5))
    settings = dataclasses.replace(FAST, speed=100.0, faults=Faults(fail_at_pct=40))
    async with running_simulator(settings) as sim:
        code, out = await apf_print(sim, path, *credentials(sim))
    assert code == 1, out
    assert "0C00_8001" in out


async def test_missing_credentials_are_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "cube.gcode"
    path.write_text(gcode_lasting(5))
    async with running_simulator(FAST) as sim:
        code, out = await apf_print(sim, path, "--serial", sim.settings.serial)
    assert code == 2
    assert "--access-code" in out
