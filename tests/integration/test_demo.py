"""The demo itself: starts, completes its sample jobs through the whole system, shuts down."""

from __future__ import annotations

import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_headless_demo_completes_every_sample_job(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "apf",
            "demo",
            "--headless",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "demo"),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr[-3000:]
    lines = out.splitlines()
    url = next(line for line in lines if line.startswith("API URL: "))
    key = next(line for line in lines if line.startswith("API key: "))
    assert url.startswith("API URL: http://127.0.0.1:") and url.endswith("/v1")
    assert len(key.split(": ", 1)[1]) > 20
    assert sum(line.startswith("Printer: ") for line in lines) == 3
    assert "Result: all 6 sample jobs completed" in out


def test_the_mixed_demo_prints_on_the_simulated_bambu_printer_by_its_ams(tmp_path: Path) -> None:
    """`apf demo --bambu`: serial printers and a Bambu printer over its LAN protocol; the
    red PETG job can go only where the printer's own AMS report says red PETG is loaded."""
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [
            *(sys.executable, "-m", "apf", "demo", "--headless", "--bambu", "--port", "0"),
            *("--data-dir", str(tmp_path / "demo")),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr[-3000:]
    assert sum(line.startswith("Printer: ") for line in out.splitlines()) == 4
    assert "Job: vase-petg-red printed on bambu-d" in out
    assert "Result: all 7 sample jobs completed" in out


def test_the_demo_runs_on_a_closed_broker_and_its_dashboard_line_works(tmp_path: Path) -> None:
    """What a new user does: run the demo, paste its `Dashboard MQTT:` line, watch states."""
    if shutil.which("mosquitto_sub") is None:
        pytest.skip("needs mosquitto_sub (mosquitto-clients)")
    repo = Path(__file__).resolve().parents[2]
    demo = subprocess.Popen(
        [sys.executable, "-m", "apf", "demo", "--port", "0", "--data-dir", str(tmp_path / "d")],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert demo.stdout is not None
        seen: dict[str, str] = {}
        for line in demo.stdout:  # the header lines come first, then the live view
            key, sep, value = line.partition(": ")
            if sep and key in ("MQTT URL", "Dashboard MQTT", "More dashboard logins"):
                seen[key] = value.strip()
            if len(seen) == 3:
                break
        assert seen["Dashboard MQTT"].startswith("mosquitto_sub ")
        assert "/mqtt-credentials" in seen["More dashboard logins"]
        command = [*shlex.split(seen["Dashboard MQTT"]), "-C", "1", "-W", "30"]
        watched = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert watched.returncode == 0, watched.stderr
        topic, payload = watched.stdout.split(" ", 1)
        assert "/printers/" in topic and '"status"' in payload
        port = seen["MQTT URL"].rsplit(":", 1)[1]
        anonymous = subprocess.run(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-t", "#", "-C", "1", "-W", "5"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert anonymous.returncode != 0 and "not authori" in anonymous.stderr.lower()
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
