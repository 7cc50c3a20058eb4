"""Line numbers, checksums and each dialect's way of asking for a line again."""

from __future__ import annotations

import pytest

from agent.sim.lineproto import Accepted, Dropped, Rejected, check_line, checksum, strip_envelope
from tests.agent.sim.client import numbered
from tests.agent.sim.conftest import SimFactory


def bad_checksum(n: int, command: str) -> bytes:
    body = f"N{n} {command}"
    return f"{body}*{(checksum(body) + 1) % 256}\n".encode()


def test_checksum_is_the_xor_of_the_bytes_before_the_star() -> None:
    # Reference value computed by hand: XOR of "N1 G28" = 0x4E^0x31^0x20^0x47^0x32^0x38
    assert checksum("N1 G28") == 0x4E ^ 0x31 ^ 0x20 ^ 0x47 ^ 0x32 ^ 0x38
    assert checksum("") == 0
    assert checksum("N" * 300) == 0  # an even count of one byte cancels out


@pytest.mark.parametrize(
    ("line", "last_n", "expected", "new_last"),
    [
        (numbered(5, "G1 X1").decode().strip(), 4, Accepted("G1 X1", 5), 5),
        (
            numbered(6, "G1 X1").decode().strip(),
            4,
            Rejected("Line Number is not Last Line Number+1, Last Line: 4"),
            4,
        ),
        (
            bad_checksum(5, "G1 X1").decode().strip(),
            4,
            Rejected("checksum mismatch, Last Line: 4"),
            4,
        ),
        ("N5 G1 X1", 4, Rejected("No Checksum with line number, Last Line: 4"), 4),
        # M110 takes the second N: `N101 M110 N100`, whatever the last line was
        (numbered(101, "M110 N100").decode().strip(), 7, Accepted("M110 N100", 101), 100),
        ("G1 X1", 4, Accepted("G1 X1", None), 4),
    ],
)
def test_marlin_line_checks(line: str, last_n: int, expected: object, new_last: int) -> None:
    assert check_line(line, last_n, "marlin") == (expected, new_last)


def test_rrf_drops_bad_or_missing_checksums_and_ignores_sequence() -> None:
    assert check_line(bad_checksum(5, "G1").decode().strip(), 4, "drop") == (Dropped(), 4)
    assert check_line("N5 G1", 4, "drop") == (Dropped(), 4)
    assert check_line(numbered(9, "G1").decode().strip(), 4, "drop") == (Accepted("G1", 9), 9)


def test_klipper_strips_the_envelope_unchecked() -> None:
    assert check_line("N7 G1 X1*0", 0, "ignore") == (Accepted("G1 X1", 7), 0)
    assert strip_envelope("N12 G1 X1*85") == ("G1 X1", 12)


@pytest.mark.parametrize("dialect", ["marlin", "prusa"])
async def test_marlin_family_asks_for_the_line_again(make_sim: SimFactory, dialect: str) -> None:
    async with make_sim(dialect=dialect) as (sim, client):
        assert await client.command(numbered(1, "G1 X1")) == ["ok"]
        reply = await client.command(bad_checksum(2, "G1 X2"))
        assert reply == ["Error:checksum mismatch, Last Line: 1", "Resend: 2", "ok"]
        reply = await client.command(numbered(3, "G1 X3"))
        assert reply == [
            "Error:Line Number is not Last Line Number+1, Last Line: 1",
            "Resend: 2",
            "ok",
        ]
        reply = await client.command(b"N2 G1 X2\n")
        assert reply == ["Error:No Checksum with line number, Last Line: 1", "Resend: 2", "ok"]
        assert await client.command(numbered(2, "G1 X2")) == ["ok"]
    assert sim.executed == ["G1 X1", "G1 X2"]
    assert sim.counters.resends_requested == 3


async def test_marlin_versions_without_ok_after_resend(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin", resend_ok=False) as (_sim, client):
        client.write(bad_checksum(1, "G1 X1"))
        client.write(numbered(1, "G1 X1"))
        lines = await client.until(r"^ok")
    assert lines == ["Error:checksum mismatch, Last Line: 0", "Resend: 1", "ok"]
    # ...and that `ok` belongs to the good line, not to the resend request.


async def test_m110_sets_the_line_number(make_sim: SimFactory) -> None:
    async with make_sim(dialect="marlin") as (sim, client):
        assert await client.command(numbered(1, "G1 X1")) == ["ok"]
        assert await client.command("M110 N100\n") == ["ok"]
        assert await client.command(numbered(101, "G1 X2")) == ["ok"]
        assert await client.command(numbered(5, "M110 N0")) == ["ok"]
        assert await client.command(numbered(1, "G1 X3")) == ["ok"]
    assert sim.executed == ["G1 X1", "M110 N100", "G1 X2", "M110 N0", "G1 X3"]


async def test_klipper_executes_without_checks_and_never_resends(make_sim: SimFactory) -> None:
    async with make_sim(dialect="klipper") as (sim, client):
        assert await client.command(bad_checksum(7, "G1 X1")) == ["ok"]
        assert await client.command(numbered(3, "G1 X2")) == ["ok"]
    assert sim.executed == ["G1 X1", "G1 X2"]
    assert sim.counters.resends_requested == 0


async def test_rrf_silently_drops_a_corrupt_line(make_sim: SimFactory) -> None:
    async with make_sim(dialect="reprapfirmware") as (sim, client):
        client.write(bad_checksum(1, "G1 X1"))
        client.write(numbered(1, "G1 X9"))
        # The only answer is the good line's ok: the bad one got nothing at all.
        assert await client.readline() == "ok"
        assert await client.command("M400\n") == ["ok"]
    assert sim.executed == ["G1 X9", "M400"]
    assert sim.counters.lines_dropped == 1
    assert sim.counters.resends_requested == 0


async def test_m110_resets_numbering_again_when_it_is_processed(make_sim: SimFactory) -> None:
    # Marlin M110.cpp sets last_N when the command runs, after the lines that arrived with
    # it were checked: a host that sends numbered lines behind an M110 without waiting
    # for its ok is asked for them again (and they run twice), on real firmware too.
    async with make_sim(dialect="marlin") as (sim, client):
        client.write(numbered(0, "M110 N0") + numbered(1, "G1 X1") + numbered(2, "G1 X2"))
        await sim.wait_executed(3, timeout_s=5)
        assert sim.firmware.last_n == 0
        client.write(numbered(3, "G1 X3"))
        lines = await client.until(r"^Resend:")
    assert lines[-2:] == ["Error:Line Number is not Last Line Number+1, Last Line: 0", "Resend: 1"]


async def test_a_line_longer_than_max_cmd_size_is_cut_and_fails_its_checksum(
    make_sim: SimFactory,
) -> None:
    # Marlin keeps MAX_CMD_SIZE - 1 = 95 characters; the cut-off checksum cannot match.
    long_command = "M117 " + "x" * 120
    async with make_sim(dialect="marlin") as (sim, client):
        reply = await client.command(numbered(1, long_command))
        assert reply == ["Error:No Checksum with line number, Last Line: 0", "Resend: 1", "ok"]
        assert await client.command(numbered(1, "M117 short")) == ["ok"]
    assert sim.executed == ["M117 short"]
