"""`apf print` and `apf serial probe` as a user runs them, against the pty simulator."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

from agent.sim import SimConfig, SimulatedPrinter
from tests.agent.serial.conftest import file_commands, make_gcode


async def run_apf(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "apf",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_print_exits_0_when_the_whole_file_is_printed(tmp_path: Path) -> None:
    commands = make_gcode(tmp_path / "f.gcode", 400)
    async with SimulatedPrinter(SimConfig(dialect="marlin", baud=None, latency_s=0.0005)) as sim:
        proc = await run_apf("print", str(tmp_path / "f.gcode"), "--port", sim.pty_path)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        text = err.decode()
        assert "printed in" in text
        # Off a terminal: plain progress lines, no escape codes for a log to choke on.
        assert re.search(r"^ *\d+\.\d % +elapsed \d+:\d\d +ETA ", text, re.MULTILINE), text
        assert "\x1b" not in text
        assert file_commands(sim.executed) == commands


async def test_print_on_a_terminal_draws_a_progress_bar(tmp_path: Path) -> None:
    """stderr on a pty, as when a person runs it: rich's bar, redrawn, then the result."""
    make_gcode(tmp_path / "f.gcode", 3000)
    master, slave = os.openpty()
    async with SimulatedPrinter(SimConfig(dialect="marlin", baud=None, latency_s=0.0005)) as sim:
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "apf", "print", str(tmp_path / "f.gcode")),
            *("--port", sim.pty_path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=slave,
            env={**os.environ, "COLUMNS": "100", "TERM": "xterm-256color"},
        )
        os.close(slave)
        screen = await asyncio.wait_for(asyncio.to_thread(_read_all, master), 60)
        assert await proc.wait() == 0, screen
    os.close(master)
    assert "printer: Marlin" in screen
    assert "━" in screen  # the bar
    assert re.search(r"\d+\.\d %", screen) and "ETA" in screen
    assert "\x1b[" in screen  # drawn in place on a terminal
    assert "printed in" in screen


def _read_all(fd: int) -> str:
    """Everything written to a pty until its last writer closed it (EIO on Linux)."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


async def test_ctrl_c_then_cancel_exits_non_zero(tmp_path: Path) -> None:
    make_gcode(tmp_path / "f.gcode", 20_000)
    async with SimulatedPrinter(SimConfig(dialect="marlin", baud=115200, latency_s=0.001)) as sim:
        proc = await run_apf("print", str(tmp_path / "f.gcode"), "--port", sim.pty_path)
        assert proc.stderr is not None and proc.stdin is not None
        line = await asyncio.wait_for(proc.stderr.readline(), 20)
        assert line.startswith(b"printer: Marlin")
        await sim.wait_executed(100, timeout_s=10)
        proc.send_signal(signal.SIGINT)
        prompt = await asyncio.wait_for(proc.stderr.readuntil(b"? "), 10)
        assert b"[r]esume or [c]ancel" in prompt
        proc.stdin.write(b"c\n")
        await proc.stdin.drain()
        _, err = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 1
        assert "print cancelled at" in err.decode()
        assert len(file_commands(sim.executed)) < 20_000


async def test_print_reports_a_printer_that_is_not_there(tmp_path: Path) -> None:
    make_gcode(tmp_path / "f.gcode", 10)
    proc = await run_apf("print", str(tmp_path / "f.gcode"), "--port", "/dev/no-such-port")
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 3
    assert "cannot open /dev/no-such-port" in err.decode()


async def test_serial_probe_prints_firmware_and_capabilities() -> None:
    async with SimulatedPrinter(SimConfig(dialect="marlin", baud=None, latency_s=0.0005)) as sim:
        proc = await run_apf("serial", "probe", sim.pty_path)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 0, err.decode()
        text = out.decode()
        assert re.search(r"^firmware: +Marlin 2\.1\.2\.4", text, re.MULTILINE), text
        assert re.search(r"^profile: +marlin ", text, re.MULTILINE), text
        assert "AUTOREPORT_TEMP" in text.split("capabilities on:")[1].splitlines()[0]
