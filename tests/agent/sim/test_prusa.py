"""The Prusa dialect answers what PrusaLink 0.8.1 asks, in the forms its parsers accept.

The patterns below are ours, written from PrusaLink's
prusa/link/printer_adapter/structures/regular_expressions.py (named per pattern) and the
way printer_polling.py, sd_card.py and serial_adapter.py use them (matched from the line
start, one line each). PrusaLink is not installed in this venv, so it is not imported.
"""

from __future__ import annotations

import re
import struct

import pytest

from agent.sim.lineproto import checksum
from tests.agent.sim.conftest import SimFactory

# FW_REGEX; the version must also be >= const.py MINIMAL_FIRMWARE 3.14.0
FW = re.compile(r"^(\d+)\.(\d+)\.(\d+)-.+$")
PRINTER_TYPE = re.compile(r"^\d{3,5}$")  # PRINTER_TYPE_REGEX; 302 is const.PRINTER_TYPES MK3S
VALID_SN = re.compile(r"^CZPX\d{4}X\d{3}X.\d{5}$")  # VALID_SN_REGEX
NOZZLE = re.compile(r"^\d\.\d+$")  # NOZZLE_REGEX
PERCENT = re.compile(r"^(\d{0,3})%$")  # PERCENT_REGEX (M220, M221)
D3_LINE = re.compile(r"^(\w{2,}) {2}((?:[0-9a-fA-F]{2} ?)+)$")  # D3_OUTPUT_REGEX
PRINT_INFO = re.compile(  # PRINT_INFO_REGEX
    r"^(SILENT|NORMAL) MODE: Percent done: (-?\d+); "
    r"[pP]rint time remaining in mins: (-?\d+); Change in mins: (-?\d+)"
)
M27_LINE = re.compile(  # M27_OUTPUT_REGEX, the alternatives PrusaLink maps to a state
    r"^(?:(?P<sdn_lfn>/.*\..*)|(?P<no_print>Not SD printing)|(?P<serial_paused>Print saved)"
    r"|(?P<sd_paused>SD print paused)|SD printing byte \d+/\d+|\d+:\d{2})$"
)
MBL = re.compile(  # MBL_REGEX
    r"^(?:(?P<no_mbl>Mesh bed leveling not active\.)|Num X,Y: (?P<x>\d+),(?P<y>\d+)"
    r"|(?P<row>(?:[ ]*-?\d+\.\d+)+))$"
)
FILE_LIST = re.compile(r"^(?:(?P<begin>Begin file list)|(?P<end>End file list))$")  # LFN_CAPTURE
SD_PRESENT = re.compile(r"^echo:SD card ok$")  # SD_PRESENT_REGEX, group "ok"
OPEN_FAILED = re.compile(r"^open failed")  # OPEN_RESULT_REGEX, group "nok"
REJECTION = re.compile(r'^(?:echo:Unknown command: ("[^"]*")|Unknown \S code: .*)')  # REJECTION
TEMPERATURE = re.compile(  # TEMPERATURE_REGEX (M155 bit 0)
    r"^T:-?\d+\.\d+ /-?\d+\.\d+ B:-?\d+\.\d+ /-?\d+\.\d+ T0:-?\d+\.\d+ /-?\d+\.\d+ "
    r"@:-?\d+ B@:-?\d+ P:-?\d+\.\d+( A:-?\d+\.\d+)?$"
)
POSITION = re.compile(  # POSITION_REGEX (M155 bit 2)
    r"^X:-?\d+\.\d+ Y:-?\d+\.\d+ Z:-?\d+\.\d+ E:-?\d+\.\d+ Count X: -?\d+\.\d+ "
    r"Y:-?\d+\.\d+ Z:-?\d+\.\d+ E:-?\d+\.\d+$"
)
FANS = re.compile(r"E0:\d+ RPM PRN1:\d+ RPM E0@:\d+ PRN1@:\d+")  # FAN_REGEX (M155 bit 1)

# model_classes.py EEPROMParams: (address, bytes) PrusaLink reads with get_d3_code(), which
# formats the address as `Ax` + upper-case hex without leading zeros (`D3 AxD05 C4`).
EEPROM_READS = {
    "job_id": (0x0D05, 4),
    "flash_air": (0x0FBB, 1),
    "print_mode": (0x0FFF, 1),
    "sheet_settings": (0x0D49, 88),
    "active_sheet": (0x0DA1, 1),
    "total_filament": (0x0FF1, 4),
    "total_print_time": (0x0FED, 4),
    "eeprom_file_position": (0x0F91, 4),
}


def d3_read(address: int, count: int) -> str:
    return f"D3 Ax{format(address, 'x').upper()} C{count}\n"  # util.py get_d3_code()


def d3_bytes(reply: list[str]) -> bytes:
    """What PrusaLink takes from a D3 reply: the data of every D3_OUTPUT_REGEX line."""
    data = ""
    for line in reply:
        match = D3_LINE.match(line)
        if match:
            data += match.group(2).replace(" ", "")
    return bytes.fromhex(data)


def print_line(n: int, command: str) -> bytes:
    """serial/instruction.py fill_data(): `N<n> <command> *<checksum of all before *>`."""
    body = f"N{n} {command} "
    return f"{body}*{checksum(body)}\n".encode()


async def test_detection_as_serial_adapter_sends_it(make_sim: SimFactory) -> None:
    # serial_adapter.py _get_info(): one raw write of two commands, then it reads lines
    # until one matches FW_REGEX and one PRINTER_TYPE_REGEX.
    async with make_sim(dialect="prusa") as (_sim, client):
        client.write("PRUSA Fir\nM862.2 Q\n")
        lines = [await client.readline() for _ in range(4)]
    version, ok1, code, ok2 = lines
    match = FW.match(version)
    assert match, version
    assert tuple(int(part) for part in match.groups()) >= (3, 14, 0)
    assert PRINTER_TYPE.match(code) and code == "302"
    assert ok1 == ok2 == "ok"


@pytest.mark.parametrize(
    ("command", "pattern"),
    [
        ("PRUSA Fir", FW),
        ("M862.2 Q", re.compile(r"^302$")),
        ("M862.1 Q", NOZZLE),
        ("M862.3 Q", re.compile(r"^MK3S$")),
        ("M862.4 Q", re.compile(r"^3\.14\.\d+$")),
        ("M862.5 Q", re.compile(r"^1$")),
        ("PRUSA SN", VALID_SN),
        ("M220", PERCENT),
        ("M221", PERCENT),
    ],
)
async def test_identity_queries_answer_one_line(
    make_sim: SimFactory, command: str, pattern: re.Pattern[str]
) -> None:
    async with make_sim(dialect="prusa") as (_sim, client):
        reply = await client.command(f"{command}\n")
    assert len(reply) == 2 and reply[1] == "ok", reply
    assert pattern.match(reply[0]), reply[0]


async def test_print_checks_with_p_are_silent_when_they_match(make_sim: SimFactory) -> None:
    # PrusaSlicer start G-code: model, nozzle and firmware checks; a match prints nothing.
    async with make_sim(dialect="prusa") as (_sim, client):
        for command in ('M862.3 P "MK3S"', "M862.1 P0.4", "M862.2 P302", "M115 U3.14.0"):
            assert await client.command(f"{command}\n") == ["ok"], command


@pytest.mark.parametrize("name", sorted(EEPROM_READS))
async def test_d3_reads_every_eeprom_field_prusalink_polls(make_sim: SimFactory, name: str) -> None:
    address, count = EEPROM_READS[name]
    async with make_sim(dialect="prusa") as (_sim, client):
        reply = await client.command(d3_read(address, count))
    assert reply[0] == "D3 - Read/Write EEPROM"
    assert reply[-1] == "ok"
    rows = [line for line in reply if D3_LINE.match(line)]
    assert len(rows) == (count + 15) // 16  # 16 bytes a line (Dcodes.cpp print_mem)
    assert rows[0].startswith(f"{address:06x}  ")
    assert len(d3_bytes(reply)) == count


async def test_eeprom_defaults_parse_as_prusalink_parses_them(make_sim: SimFactory) -> None:
    async with make_sim(dialect="prusa") as (_sim, client):

        async def read(name: str) -> bytes:
            return d3_bytes(await client.command(d3_read(*EEPROM_READS[name])))

        # printer_polling.py: print mode index 0 NORMAL / 1 SILENT / 2 AUTO
        assert (await read("print_mode"))[0] in (0, 1, 2)
        assert await read("flash_air") == b"\x00"
        assert await read("active_sheet") == b"\x00"
        assert struct.unpack("<I", await read("total_filament"))[0] == 0
        sheets = await read("sheet_settings")
        names = [sheets[i : i + 7].decode("ascii") for i in range(0, 88, 11)]
        assert names[:2] == ["Smooth1", "Smooth2"] and names[-1] == "Custom2"


async def test_d3_write_of_the_job_id_survives_a_reset(make_sim: SimFactory) -> None:
    async with make_sim(dialect="prusa") as (sim, client):
        # job.py write(): f"D3 Ax0D05 X{job_id:08x}"; the answer confirms and dumps it.
        reply = await client.command("D3 Ax0D05 X0000002a\n")
        assert reply[1] == "4 bytes written to EEPROM at address 0x0d05"
        assert reply[2] == "000d05  00 00 00 2a"
        sim.reset()
        await client.until(r"^start$")
        reply = await client.command(d3_read(0x0D05, 4))
    # printer_polling.py _get_job_id(): int(data, 16)
    assert int(d3_bytes(reply).hex(), 16) == 42


async def test_m27_reports_the_print_state(make_sim: SimFactory) -> None:
    async with make_sim(dialect="prusa") as (_sim, client):
        reply = await client.command("M27 P\n")
        assert reply == ["Not SD printing", "ok"]
        match = M27_LINE.match(reply[0])
        assert match and match.group("no_print")
        await client.command("M601\n")
        reply = await client.command("M27 P\n")
        match = M27_LINE.match(reply[0])
        assert match and match.group("serial_paused"), reply
        await client.command("M602\n")
        assert await client.command("M27 P\n") == ["Not SD printing", "ok"]


async def test_m220_m221_set_and_report(make_sim: SimFactory) -> None:
    async with make_sim(dialect="prusa") as (_sim, client):
        assert await client.command("M220 S90\n") == ["ok"]
        assert await client.command("M220\n") == ["90%", "ok"]
        assert await client.command("M220 B S50\n") == ["ok"]
        assert await client.command("M220 R\n") == ["ok"]
        assert await client.command("M220\n") == ["90%", "ok"]
        assert await client.command("M221 S95\n") == ["ok"]
        assert await client.command("M221\n") == ["95%", "ok"]


async def test_m73_prints_both_modes(make_sim: SimFactory) -> None:
    async with make_sim(dialect="prusa") as (_sim, client):
        reply = await client.command("M73\n")
        assert reply == [
            "NORMAL MODE: Percent done: -1; print time remaining in mins: 65535; "
            "Change in mins: 65535",
            "SILENT MODE: Percent done: -1; print time remaining in mins: 65535; "
            "Change in mins: 65535",
            "ok",
        ]
        reply = await client.command("M73 P25 R10 Q20 S12 C5\n")
        normal, silent = (PRINT_INFO.match(line) for line in reply[:2])
        assert normal and normal.groups() == ("NORMAL", "25", "10", "5")
        assert silent and silent.groups() == ("SILENT", "20", "12", "65535")
        # prusa_link.py _reset_print_stats(): util.get_print_stats_gcode() with all -1
        reply = await client.command("M73 Q-1 S-1 C-1 P-1 R-1 D-1\n")
        normal = PRINT_INFO.match(reply[0])
        assert normal and normal.groups() == ("NORMAL", "-1", "65535", "65535")


async def test_m420_reports_the_mesh_after_g80(make_sim: SimFactory) -> None:
    async with make_sim(dialect="prusa", homing_s=0.0) as (_sim, client):
        reply = await client.command("M420\n")
        match = MBL.match(reply[0])
        assert match and match.group("no_mbl")
        await client.command("G80\n")
        reply = await client.command("M420\n")
    matches = [m for m in (MBL.match(line) for line in reply) if m]
    assert matches[0].group("x") == matches[0].group("y") == "7"
    values = [float(v) for m in matches[1:] for v in m.group("row").split()]
    assert len(values) == 49  # printer_polling.py _validate_mbl(): num_x * num_y


async def test_sd_card_is_present_and_empty(make_sim: SimFactory) -> None:
    async with make_sim(dialect="prusa") as (_sim, client):
        reply = await client.command("M20 LT\n")
        matches = [FILE_LIST.match(line) for line in reply[:-1]]
        assert matches[0] and matches[0].group("begin")
        assert matches[-1] and matches[-1].group("end")
        assert await client.command("M21\n") == ["echo:SD card ok", "ok"]
        assert SD_PRESENT.match("echo:SD card ok")
        reply = await client.command("M23 /test.gco\n")
        assert OPEN_FAILED.match(reply[1]), reply


async def test_m155_c7_reports_temperatures_position_and_fans(make_sim: SimFactory) -> None:
    # auto_telemetry.py turn_reporting_on(): "M155 S2 C7"
    async with make_sim(dialect="prusa") as (_sim, client):
        assert await client.command("M155 S1 C7\n") == ["ok"]
        lines = [await client.readline(3.0) for _ in range(3)]
        assert TEMPERATURE.match(lines[0]), lines
        assert POSITION.match(lines[1]), lines
        assert FANS.match(lines[2]), lines
        assert await client.command("M155 S0 C0\n") == ["ok"]


async def test_unknown_codes_are_rejections_prusalink_recognises(make_sim: SimFactory) -> None:
    async with make_sim(dialect="prusa") as (_sim, client):
        for command in ("M9999", "G999", "D999", "FOO"):
            reply = await client.command(f"{command}\n")
            assert len(reply) == 2 and REJECTION.match(reply[0]), reply


async def test_host_commands_are_accepted_silently(make_sim: SimFactory) -> None:
    # keepalive.py M79, ip_updater.py M552, command_handlers.py M72, file_printer.py
    # M75/M77, lcd_printer.py M117/M300, serial_queue.py M400 before M110.
    async with make_sim(dialect="prusa") as (_sim, client):
        for command in (
            'M79 S"PL"',
            "M552 P0.0.0.0",
            "M72 S0",
            "M75",
            "M77",
            "M117 ~Hi",
            "M300 P14 S50",
            "M400",
        ):
            assert await client.command(f"{command}\n") == ["ok"], command
        assert await client.command("M72\n") == ["PrinterState: 0", "ok"]


async def test_print_lines_in_prusalinks_form(make_sim: SimFactory) -> None:
    # file_printer.py: M110 N0 (plain), then every file line numbered with a space before
    # `*`; progress lines from the file come back as the two M73 lines.
    async with make_sim(dialect="prusa") as (sim, client):
        assert await client.command("M110 N0\n") == ["ok"]
        assert await client.command(print_line(1, "G1 X10 Y10 F3000")) == ["ok"]
        reply = await client.command(print_line(2, "M73 P50 R1"))
        assert [bool(PRINT_INFO.match(line)) for line in reply] == [True, True, False]
        # A corrupted line is asked for again (serial_queue.py RESEND_REGEX).
        bad = print_line(3, "G1 X20").replace(b"X20", b"X21")
        client.write(bad)
        lines = await client.until(r"^ok")
        assert "Resend: 3" in lines
        assert await client.command(print_line(3, "G1 X20")) == ["ok"]
    assert sim.executed[-3:] == ["G1 X10 Y10 F3000", "M73 P50 R1", "G1 X20"]
