"""What each dialect answers: M115, M105, unknown commands, host actions, ADVANCED_OK."""

from __future__ import annotations

import re

import pytest

from tests.agent.sim.client import numbered
from tests.agent.sim.conftest import SimFactory

TEMP_FORMS = {
    # Marlin print_heater_states(): two decimals, powers after the temperatures
    "marlin": r"^ok T:22\.00 /0\.00 B:22\.00 /0\.00 @:0 B@:0$",
    # Prusa: one decimal, always T0, then PINDA and ambient
    "prusa": r"^ok T:22\.0 /0\.0 B:22\.0 /0\.0 T0:22\.0 /0\.0 @:0 B@:0 P:\d+\.\d A:\d+\.\d$",
    # Klipper: sorted sensors, bed first, on the ok line
    "klipper": r"^ok B:22\.0 /0\.0 T0:22\.0 /0\.0$",
    # RepRapFirmware: T, every Tn, then B
    "reprapfirmware": r"^ok T:22\.0 /0\.0 T0:22\.0 /0\.0 B:22\.0 /0\.0$",
}


@pytest.mark.parametrize("dialect", sorted(TEMP_FORMS))
async def test_m105_answers_in_the_dialect_form(make_sim: SimFactory, dialect: str) -> None:
    async with make_sim(dialect=dialect) as (_sim, client):
        reply = await client.command("M105\n")
        assert len(reply) == 1
        assert re.match(TEMP_FORMS[dialect], reply[0]), reply[0]


async def test_marlin_m115_reports_firmware_and_capabilities(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin") as (_sim, client):
        reply = await client.command("M115\n")
    assert reply[0].startswith("FIRMWARE_NAME:Marlin 2.")
    assert "EXTRUDER_COUNT:1" in reply[0]
    assert "Cap:AUTOREPORT_TEMP:1" in reply
    assert "Cap:EMERGENCY_PARSER:1" in reply
    assert all(line.startswith("Cap:") for line in reply[1:-1])
    assert reply[-1] == "ok"


@pytest.mark.parametrize(
    ("dialect", "first", "last"),
    [
        ("prusa", "FIRMWARE_NAME:Prusa-Firmware", "Cap:PRUSA_MMU2:1"),
        ("reprapfirmware", "FIRMWARE_NAME: RepRapFirmware", None),
    ],
)
async def test_m115_of_other_firmwares(
    make_sim: SimFactory, dialect: str, first: str, last: str | None
) -> None:
    async with make_sim(dialect=dialect) as (_sim, client):
        reply = await client.command("M115\n")
    assert reply[0].startswith(first)
    if last is not None:
        assert reply[-2] == last
    assert reply[-1] == "ok"


async def test_klipper_m115_rides_on_the_ok_line(make_sim: SimFactory) -> None:
    async with make_sim(dialect="klipper") as (_sim, client):
        reply = await client.command("M115\n")
    assert reply == ["ok FIRMWARE_NAME:Klipper FIRMWARE_VERSION:v0.12.0-apf-sim"]


UNKNOWN = {
    "marlin": 'echo:Unknown command: "M9999 S1"',
    # Prusa messages.cpp MSG_UNKNOWN_CODE, printed with printf_P: no `echo:` prefix
    # (PrusaLink's REJECTION_REGEX matches `Unknown \S code: .*` at the line start).
    "prusa": "Unknown M code: M9999 S1",
    "klipper": '// Unknown command:"M9999"',
    "reprapfirmware": "Error: M9999: Command is not supported",
}


@pytest.mark.parametrize("dialect", sorted(UNKNOWN))
async def test_unknown_command_is_echoed_then_acknowledged(
    make_sim: SimFactory, dialect: str
) -> None:
    async with make_sim(dialect=dialect) as (sim, client):
        assert await client.command("M9999 S1\n") == [UNKNOWN[dialect], "ok"]
        # Garbage bytes never crash the firmware: it answers and keeps going.
        client.write(b"\xff\xfe\x00!!garbage\n")
        await client.until(r"^ok")
        assert await client.command("M105\n")
    assert sim.executed[0] == "M9999 S1"


@pytest.mark.parametrize(
    ("dialect", "command", "action"),
    [
        ("marlin", "M25", "//action:pause"),
        ("prusa", "M601", "//action:paused"),
        ("prusa", "M602", "//action:resumed"),
        ("klipper", "PAUSE", "// action:paused"),
        ("klipper", "CANCEL_PRINT", "// action:cancel"),
    ],
)
async def test_pause_commands_announce_host_actions(
    make_sim: SimFactory, dialect: str, command: str, action: str
) -> None:
    async with make_sim(dialect=dialect) as (_sim, client):
        assert await client.command(f"{command}\n") == [action, "ok"]


async def test_marlin_has_no_m601(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin") as (_sim, client):
        assert await client.command("M601\n") == ['echo:Unknown command: "M601"', "ok"]


async def test_host_action_from_the_printer_side(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin") as (sim, client):
        sim.host_action("pause")
        assert await client.readline() == "//action:pause"


async def test_advanced_ok_echoes_line_planner_and_buffer(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin", advanced_ok=True) as (_sim, client):
        assert await client.command(numbered(1, "G1 X1")) == ["ok N1 P15 B3"]
        # Without a line number there is no N.
        assert await client.command("G1 X2\n") == ["ok P15 B3"]


async def test_klipper_acknowledges_empty_lines_marlin_skips_them(make_sim: SimFactory) -> None:
    async with make_sim(dialect="klipper") as (_sim, client):
        assert await client.command("\n") == ["ok"]
    async with make_sim(dialect="marlin") as (_sim, client):
        client.write("\n\n")
        # The first answer is M105's: the empty lines got none.
        assert (await client.command("M105\n"))[0].startswith("ok T:")


async def test_marlin_says_wait_while_its_queue_stays_empty(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin", idle_wait_s=0.1) as (_sim, client):
        done_at, line = client.write("G1 X1\n"), await client.readline()
        assert line == "ok"
        first_at, first = await client.readline_timed()
        second_at, second = await client.readline_timed()
    assert (first, second) == ("wait", "wait")
    assert first_at - done_at >= 0.1 - 0.002
    assert second_at - done_at >= 0.2 - 0.002


async def test_m114_follows_moves_modes_and_g92(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin") as (_sim, client):
        for command in ("G28", "G1 X10 Y20 Z0.3 E1.5", "G91", "G1 X5 E0.5", "G92 E0"):
            assert await client.command(command + "\n") == ["ok"]
        assert await client.command("M114\n") == [
            "X:15.00 Y:20.00 Z:0.30 E:0.00 Count X:1200 Y:1600 Z:120",
            "ok",
        ]
    async with make_sim(dialect="klipper") as (_sim, client):
        assert await client.command("G1 X1.5 Y2\n") == ["ok"]
        assert await client.command("M114\n") == ["X:1.500 Y:2.000 Z:0.000 E:0.000", "ok"]
