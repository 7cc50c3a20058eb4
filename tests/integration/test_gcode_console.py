"""Console G-code end to end: API → bridge → broker → the real agent → a simulated printer,
and the printer's own answer back in the API's response."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.farm import PrinterSpec, running_farm
from tests.support.broker import TestBroker

pytestmark = pytest.mark.slow


async def test_m105_answers_with_the_printers_temperatures(
    mqtt_broker: TestBroker, tmp_path: Path
) -> None:
    async with running_farm(mqtt_broker, tmp_path, [PrinterSpec("mk3", "prusa")]) as farm:
        printer_id = farm.printers["mk3"]

        async def idle() -> bool:
            return bool((await farm.json("GET", f"/v1/printers/{printer_id}"))["status"] == "idle")

        await farm.wait_for(idle, timeout_s=60, what="the printer idle")
        response = await farm.api.post(f"/v1/printers/{printer_id}/gcode", json={"lines": ["M105"]})
        assert response.status_code == 200, response.text
        out = response.json()
        assert out["status"] == "ok"
        # Marlin's answer to M105: `ok T:<actual> /<target> B:… /…`.
        assert any("T:" in line and "B:" in line for line in out["replies"]), out["replies"]

        # Two lines, answered in one reply; a comment is stripped by the agent.
        both = await farm.api.post(
            f"/v1/printers/{printer_id}/gcode", json={"lines": ["M114 ; where", "M105"]}
        )
        assert both.status_code == 200, both.text
        assert any("X:" in line for line in both.json()["replies"]), both.json()
