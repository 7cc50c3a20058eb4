"""Heaters take time; M109/M190 block with temperature lines; M155 auto-reports."""

from __future__ import annotations

import re

import pytest

from agent.sim.heaters import Heater
from tests.agent.sim.conftest import SimFactory


def test_heater_ramps_linearly_and_cools_slower() -> None:
    heater = Heater.at_ambient("T0", 10.0, 20.0, now_s=0.0)
    heater.set_target(220.0, 0.0)
    assert heater.temp_c(10.0) == pytest.approx(120.0)
    assert heater.temp_c(100.0) == 220.0  # never overshoots
    assert heater.reached_at(0.0, wait_cooling=False) == pytest.approx(19.9)
    heater.set_target(0.0, 20.0)
    assert heater.temp_c(30.0) == pytest.approx(170.0)  # half the rate down
    assert heater.temp_c(1000.0) == 20.0  # not below ambient


async def test_m109_blocks_until_hot_with_temperature_lines(make_sim: SimFactory) -> None:
    # 22 -> 199 °C at 100 °C/s: 1.77 s, one report line a second while it waits.
    async with make_sim(dialect="marlin", heat_rate_c_per_s=100.0) as (sim, client):
        sent_at = client.write("M109 S200\n")
        lines: list[tuple[float, str]] = []
        while not lines or lines[-1][1] != "ok":
            lines.append(await client.readline_timed(timeout_s=5))
        reply = await client.command("M105\n")
    assert lines[-1][0] - sent_at >= 1.77 - 0.002
    ticks = [text for _, text in lines[:-1]]
    assert len(ticks) == 2
    assert all(
        re.match(r"^ T:\d+\.\d\d /200\.00 B:22\.00 /0\.00 @:127 B@:0 W:\?$", t) for t in ticks
    )
    assert re.match(r"^ok T:(199|200)\.\d\d /200\.00 B:22\.00 /0\.00 @:40 B@:0$", reply[0])
    assert sim.executed == ["M109 S200", "M105"]


async def test_m190_and_m104_in_prusa_form(make_sim: SimFactory) -> None:
    async with make_sim(dialect="prusa", heat_rate_c_per_s=100.0) as (_sim, client):
        assert await client.command("M104 S210\n") == ["ok"]
        reply = await client.command("M190 S40\n")  # bed at 50 °C/s: 0.34 s
        temps = await client.command("M105\n")
    assert reply[0].startswith("T:") and " E:0 B:" in reply[0]
    assert reply[-1] == "ok"
    assert re.match(r"^ok T:\d+\.\d /210\.0 B:(39|40)\.\d /40\.0 ", temps[0])


async def test_m108_ends_a_heating_wait(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin", heat_rate_c_per_s=1.0) as (sim, client):
        client.write("M109 S250\n")
        assert (await client.readline()).startswith(" T:")  # it is waiting
        client.write("M108\n")
        # The M109 ends at once (its ok), then the M108 is answered.
        assert (await client.until(r"^ok"))[-1] == "ok"
        assert await client.readline() == "ok"
    assert sim.executed == ["M109 S250", "M108"]


async def test_m155_auto_reports_until_turned_off(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin") as (_sim, client):
        assert await client.command("M155 S0.05\n") == ["ok"]
        reports = [await client.readline() for _ in range(3)]
        assert await client.command("M155 S0\n") == (
            [line for line in client.pending() if line != "ok"] + ["ok"]
        )
    # Marlin's auto-report line starts with a space (print_heater_states + EOL).
    assert all(line.startswith(" T:22.00 /0.00 B:22.00") for line in reports)


async def test_klipper_has_no_auto_report(make_sim: SimFactory) -> None:
    async with make_sim(dialect="klipper") as (_sim, client):
        assert await client.command("M155 S1\n") == ['// Unknown command:"M155"', "ok"]
