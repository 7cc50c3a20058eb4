"""The simulated printer's reports have the keys and value types real printers send.

Held to captured payloads (../shared/peers/bambu/payloads, README there): a real A1 mini's
full report and version answer (bambu-rs, MIT) and a real P1P's full report (ha-bambulab):
every key they have, the simulator has with the same JSON type, recursively through the
AMS, its trays, the external spool and the other nested objects, and it invents none.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.sim.bambu.model import PrinterModel, PrintFile
from tests.support.bambu import PAYLOADS

pytestmark = pytest.mark.skipif(
    not PAYLOADS.is_dir(), reason=f"the captured Bambu payloads are not at {PAYLOADS}"
)
# Scrubbed from the A1 mini capture by its publisher (its _meta.scrubbed).
SCRUBBED = {"net", "wifi_signal"}


def load(relative: str) -> Any:
    return json.loads((PAYLOADS / relative).read_text())


def a1_mini() -> dict[str, Any]:
    report: dict[str, Any] = load("bambu-rs/pushall-n1-idle.json")["message"]["print"]
    return report


def p1p() -> dict[str, Any]:
    report: dict[str, Any] = load("ha-bambulab/P1P.json")["push_all"]
    return report


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"  # JSON has one number type; real printers mix 26 and 26.5
    return type(value).__name__


def type_differences(real: Any, ours: Any, path: str = "") -> list[str]:
    """Where `ours` lacks a key of `real` or has another type, recursively."""
    if kind(real) != kind(ours):
        return [f"{path or '.'}: {kind(ours)}, real printers send {kind(real)}"]
    found: list[str] = []
    if isinstance(real, dict):
        for key, value in real.items():
            if key not in ours:
                found.append(f"{path}.{key}: missing")
            else:
                found += type_differences(value, ours[key], f"{path}.{key}")
    elif isinstance(real, list) and real and ours:
        found += type_differences(real[0], ours[0], f"{path}[0]")
    return found


def printing_model() -> PrinterModel:
    model = PrinterModel(serial="01P00A000000001")
    model.start(PrintFile("/cache/a.gcode", "a", duration_s=60.0, total_layers=10), 0.0)
    model.advance(30.0)
    return model


@pytest.mark.parametrize("capture", [a1_mini, p1p], ids=["A1 mini", "P1P"])
def test_full_reports_have_the_keys_and_types_of_real_ones(capture: Any) -> None:
    real = {k: v for k, v in capture().items() if k not in SCRUBBED}
    for model in (PrinterModel(serial="01P00A000000001"), printing_model()):
        ours = model.print_fields()
        assert type_differences(real, ours) == []


def test_the_simulator_invents_no_keys() -> None:
    known = set(a1_mini()) | set(p1p())
    assert set(printing_model().print_fields()) <= known
    real_tray = a1_mini()["ams"]["ams"][0]["tray"][0]
    fields = printing_model().print_fields()
    for tray in fields["ams"]["ams"][0]["tray"]:
        assert set(tray) <= set(real_tray)
    assert set(fields["vt_tray"]) <= set(a1_mini()["vt_tray"])


def test_the_version_answer_has_the_shape_of_a_real_one(tmp_path: Path) -> None:
    import asyncio

    from agent.sim.bambu.printer import BambuSimulator, SimulatorSettings

    async def answer() -> dict[str, Any]:
        sim = BambuSimulator(SimulatorSettings(), tmp_path / "card", tmp_path)
        return sim._version("7")

    real = load("bambu-rs/get_version-a1mini.json")["message"]["info"]
    ours = asyncio.run(answer())
    assert type_differences(real, ours) == []
    assert ours["sequence_id"] == "7"
    assert set(ours) == set(real)
