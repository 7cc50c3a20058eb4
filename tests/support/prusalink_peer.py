"""Prusa's own PrusaLink 0.8.1 driving our simulated Prusa MK3S (`apf sim --dialect prusa`).

PrusaLink is installed by scripts/install-prusalink into .cache/prusalink-venv. It is
configured by two ini files (prusa/link/config.py): `prusalink.ini` (data dir, HTTP
address and port, the printer's serial port) and the printer settings (type MK3S, the
HTTP Digest credential as md5 of `user:Administrator:password`, Prusa Connect off with an
empty token). It refuses a data dir under /tmp, and advertises itself over zeroconf: it
runs only in a loopback-only network namespace (scripts/test-peers), like the Klipper
stack (tests/support/klipper_stack.py).
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.klipper_stack import isolated, require_isolated

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".cache" / "prusalink-venv"
USER, PASSWORD = "apf", "apf-sim-pass1"
# Where PrusaLink keeps the files it prints (relative to its data dir).
GCODES = "PrusaLink gcodes"


def unavailable_reason() -> str | None:
    if not (VENV / "bin" / "prusalink").exists():
        return "PrusaLink is not installed: scripts/install-prusalink"
    if not isolated():
        return "PrusaLink runs in a loopback-only netns only: scripts/test-peers"
    return None


# PrusaLink reads the printer's info and settings before it says IDLE: seconds alone, and
# past 90 s once, when the main suite and other builds shared the machine's two cores.
START_WITHIN_S = 180.0


class PrusaLinkPeer:
    """`start()` the simulated MK3S and PrusaLink on it; PrusaLink on 127.0.0.1:port."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data = data_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.gcodes = data_dir / GCODES
        self._sim: subprocess.Popen[str] | None = None
        self._link: subprocess.Popen[bytes] | None = None
        self.pty = ""

    def start(self, timeout_s: float = START_WITHIN_S) -> None:
        # Before the simulated printer too: outside the namespace nothing of the peer starts.
        require_isolated("PrusaLink")
        self.data.mkdir(parents=True, exist_ok=True)
        self._sim = subprocess.Popen(
            [sys.executable, "-m", "apf", "sim", "--dialect", "prusa"],
            stdout=subprocess.PIPE,
            stderr=(self.data / "sim.log").open("ab"),
            text=True,
            cwd=REPO,
        )
        assert self._sim.stdout is not None
        self.pty = self._sim.stdout.readline().strip()
        digest = hashlib.md5(f"{USER}:Administrator:{PASSWORD}".encode()).hexdigest()
        (self.data / "prusa_printer_settings.ini").write_text(
            "[printer]\ntype = MK3S\nname = APF simulated MK3S\nlocation = sim\n\n"
            "[network]\nhostname = apf-sim\n\n"
            "[service::connect]\nhostname = connect.prusa3d.com\ntls = True\nport = 0\n"
            "token =\n\n"
            f"[service::local]\nenable = 1\nusername = {USER}\ndigest = {digest}\napi_key =\n"
        )
        (self.data / "prusalink.ini").write_text(
            f"[daemon]\ndata_dir = {self.data}\npid_file = ./prusalink.pid\n"
            "power_panic_file = ./power_panic\nthreshold_file = ./threshold.data\n\n"
            f"[http]\naddress = 127.0.0.1\nport = {self.port}\n\n"
            f"[printer]\nport = {self.pty}\nbaudrate = 115200\n"
            f"settings = ./prusa_printer_settings.ini\ndirectory = ./{GCODES}\n\n"
            "[cameras]\nauto_detect = False\n"
        )
        self.start_link(timeout_s)

    def start_link(self, timeout_s: float = START_WITHIN_S) -> None:
        require_isolated("PrusaLink")
        with (self.data / "prusalink.log").open("ab") as log:
            self._link = subprocess.Popen(
                [str(VENV / "bin" / "python"), "-m", "prusa.link", "-f", "-i", "-c",
                 str(self.data / "prusalink.ini")],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data,
            )  # fmt: skip
        self.wait_state("IDLE", timeout_s)

    def stop_link(self) -> None:
        _stop(self._link)
        self._link = None

    def stop(self) -> None:
        self.stop_link()
        _stop(self._sim)
        self._sim = None

    # --- PrusaLink's API, as a person or another program would use it --------------------

    def request(
        self, method: str, path: str, *, timeout_s: float = 10.0, **kwargs: Any
    ) -> httpx.Response:
        return httpx.request(
            method,
            self.url + path,
            auth=httpx.DigestAuth(USER, PASSWORD),
            timeout=timeout_s,
            trust_env=False,
            **kwargs,
        )

    def state(self) -> str:
        return str(self.request("GET", "/api/v1/status").json()["printer"]["state"])

    def wait_state(self, state: str, timeout_s: float) -> None:
        """Until PrusaLink reports the state (polling with a deadline: no event says it)."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            if self._link is not None and self._link.poll() is not None:
                raise RuntimeError(f"PrusaLink exited; see {self.data / 'prusalink.log'}")
            try:
                last = self.state()
                if last == state:
                    return
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise TimeoutError(
            f"PrusaLink not {state} after {timeout_s} s: {last}; the end of its log:\n"
            + self.log_tail()
        )

    def log_tail(self, lines: int = 40, name: str = "prusalink.log") -> str:
        """The last lines PrusaLink (or, by `name`, the simulator) logged: why it is stuck,
        kept in the failure's text since its data directory goes with the test."""
        try:
            text = (self.data / name).read_text(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def upload_and_print(self, name: str, text: str) -> None:
        """Start a print the way PrusaLink's own web page does (not AutoPrintFarm). With
        Print-After-Upload PrusaLink answers once the print has started, which takes a
        while on a loaded machine."""
        headers = {"Content-Type": "text/x.gcode", "Print-After-Upload": "?1"}
        resp = self.request(
            "PUT",
            f"/api/v1/files/local/{name}",
            content=text.encode(),
            headers=headers,
            timeout_s=60.0,
        )
        resp.raise_for_status()


def _stop(proc: subprocess.Popen[Any] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def dwell_gcode(seconds: int) -> str:
    """A Prusa-sliced-looking file that prints for about `seconds` (G4 S1 dwells) on the sim,
    with M73 progress lines as PrusaSlicer writes them."""
    lines = ["; AutoPrintFarm test print", 'M862.3 P "MK3S"', "M862.1 P0.4", "M115 U3.14.0"]
    lines += ["G28 W", "G90", "G1 X10 Y10 F3000"]
    for i in range(seconds):
        pct = 100 * i // max(1, seconds)
        lines += [
            f"M73 P{pct} R{max(0, seconds - i) // 60}",
            "G4 S1",
            f"G1 X{10 + (i % 2) * 10} F3000",
        ]
    lines += ["M73 P100 R0", "M104 S0", "M140 S0"]
    return "\n".join(lines) + "\n"
