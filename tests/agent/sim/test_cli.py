"""`apf sim` as its own process: the pty path first, a plain pyserial client, the record."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import serial

from tests.agent.sim.client import numbered

COMMANDS = [f"G1 X{i} Y{i * 2} E{i * 0.1:.1f}" for i in range(1, 41)]


def test_apf_sim_prints_the_pty_and_records_what_it_executed(tmp_path: Path) -> None:
    record = tmp_path / "executed.gcode"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "apf.main",
            "sim",
            "--dialect",
            "marlin",
            "--baud",
            "250000",
            "--latency-ms",
            "1",
            "--record",
            str(record),
            "--corrupt-rx",
            "0.1",
            "--seed",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/pts/")
        port = serial.Serial(path, timeout=5)
        n = 1
        while n <= len(COMMANDS):
            port.write(numbered(n, COMMANDS[n - 1]))
            while True:
                line = port.readline().decode()
                assert line, "no answer from the simulator"
                if line.startswith("Resend:"):
                    n = int(line.split(":")[1])
                    assert port.readline() == b"ok\n"
                    break
                if line.startswith("ok"):
                    n += 1
                    break
        port.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "resends requested" in err
    assert record.read_text().splitlines() == COMMANDS


def test_apf_sim_rejects_a_bad_setting() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "apf.main", "sim", "--drop-ok", "2"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "drop_ok_share" in result.stderr


def test_apf_sim_runs_several_printers_in_one_process() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "apf.main", "sim", "--count", "2", "--unthrottled"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        paths = [proc.stdout.readline().strip() for _ in range(2)]
        assert len(set(paths)) == 2
        for path in paths:
            with serial.Serial(path, timeout=5) as port:
                port.write(b"M105\n")
                assert port.readline().startswith(b"ok T:")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert err.count("executed 1 commands") == 2
