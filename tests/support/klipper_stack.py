"""A real Klipper (Linux-process MCU + klippy) and a real Moonraker, one process each.

The sources, the pinned requirements, printer.cfg and moonraker.conf come from the team's
peers folder (`../shared/peers/klipper/`, or `APF_PEERS_DIR/klipper`); its
`start-stack.sh --prepare` builds the MCU and the two venvs into a cache once. The three
processes are started here (the command lines of that folder's README) rather than by
the script, so a test can stop and restart Moonraker alone, mid-print.

These peers look up names and announce themselves when left alone: they run only in a
network namespace with loopback alone (`scripts/test-peers`), which `isolated()` checks.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

PEERS = Path(
    os.environ.get("APF_PEERS_DIR") or Path(__file__).resolve().parents[3] / "shared" / "peers"
)
KLIPPER_PEER = PEERS / "klipper"
CACHE = Path(
    os.environ.get("KLIPPER_STACK_CACHE") or Path.home() / ".cache" / "klipper-stack-84104bb"
)
SOURCE = CACHE / "klipper-84104bb"


def isolated() -> bool:
    """True inside a network namespace whose only interface is loopback."""
    lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    return all(line.split(":", 1)[0].strip() == "lo" for line in lines)


def require_isolated(what: str) -> None:
    """The second lock behind tests/peers/conftest.py's skip: a peer that announces itself
    or looks up names is never started where it could reach a network."""
    if not isolated():
        raise RuntimeError(
            f"{what} starts only in a loopback-only network namespace (scripts/test-peers)"
        )


def unavailable_reason() -> str | None:
    """Why the stack cannot run here, or None."""
    if not (KLIPPER_PEER / "start-stack.sh").is_file():
        return f"the Klipper peer is not at {KLIPPER_PEER} (set APF_PEERS_DIR)"
    if shutil.which("gcc") is None or shutil.which("make") is None:
        return "gcc and make are needed to build Klipper's Linux MCU"
    if not isolated():
        return "Klipper and Moonraker run in a loopback-only netns only: scripts/test-peers"
    return None


def prepare() -> None:
    """Build the MCU and the venvs into the cache (once; later calls return at once)."""
    subprocess.run(
        ["bash", str(KLIPPER_PEER / "start-stack.sh"), "--prepare"],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=600,
    )


class KlipperStack:
    """`start()` the three processes in `data_dir`; Moonraker listens on 127.0.0.1:port."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        moonraker_extra: str = "",
        klippy_of: KlipperStack | None = None,
    ) -> None:
        self.data = data_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._moonraker_extra = moonraker_extra
        # Only a Moonraker, in front of another stack's klippy (Klippy serves several API
        # clients): many Moonraker printers for the price of one Klipper.
        self._klippy_of = klippy_of
        self._mcu: subprocess.Popen[bytes] | None = None
        self._klippy: subprocess.Popen[bytes] | None = None
        self._moonraker: subprocess.Popen[bytes] | None = None
        self.api_key = ""

    # --- processes -----------------------------------------------------------------------

    def start(self, timeout_s: float = 60.0) -> None:
        d = self.data
        for sub in ("config", "gcodes", "logs", "misc"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        # Without this file Moonraker fetches usb.ids from the internet at start.
        (d / "misc" / "usb.ids").touch()
        self.set_host_temperature(25.0)
        printer_cfg = (KLIPPER_PEER / "printer.cfg").read_text().replace("@DATA@", str(d))
        (d / "config" / "printer.cfg").write_text(printer_cfg)
        conf = (KLIPPER_PEER / "moonraker.conf").read_text()
        conf = conf.replace("@DATA@", str(d)).replace("@PORT@", str(self.port))
        if self._moonraker_extra:
            conf = conf.replace("[server]\n", f"[server]\n{self._moonraker_extra}\n", 1)
        if self._klippy_of is not None:
            socket = f"{self._klippy_of.data}/klippy.sock"
            conf = conf.replace(f"{d}/klippy.sock", socket)
            (d / "config" / "moonraker.conf").write_text(conf)
            self.start_moonraker(timeout_s)
            return
        (d / "config" / "moonraker.conf").write_text(conf)
        self._mcu = self._spawn(
            "mcu", [str(SOURCE / "out" / "klipper.elf"), "-I", str(d / "klipper_host_mcu")]
        )
        self._klippy = self._spawn(
            "klippy",
            [
                str(CACHE / "venv-klippy" / "bin" / "python"),
                str(SOURCE / "klippy" / "klippy.py"),
                str(d / "config" / "printer.cfg"),
                "-a",
                str(d / "klippy.sock"),
                "-I",
                str(d / "printer_pty"),
                "-l",
                str(d / "logs" / "klippy.log"),
            ],
        )
        self.start_moonraker(timeout_s)

    def start_moonraker(self, timeout_s: float = 60.0) -> None:
        self._moonraker = self._spawn(
            "moonraker", [str(CACHE / "venv-moonraker" / "bin" / "moonraker"), "-d", str(self.data)]
        )
        self.wait_ready(timeout_s)

    def stop_moonraker(self) -> None:
        _stop(self._moonraker)
        self._moonraker = None

    def stop(self) -> None:
        for proc in (self._moonraker, self._klippy, self._mcu):
            _stop(proc)
        self._moonraker = self._klippy = self._mcu = None

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        require_isolated(name)
        log = (self.data / "logs" / f"{name}.out").open("ab")
        try:
            return subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            log.close()

    # --- state ---------------------------------------------------------------------------

    def read_api_key(self) -> str:
        db = self.data / "database" / "moonraker-sql.db"
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            row = conn.execute(
                "SELECT password FROM authorized_users WHERE username='_API_KEY_USER_'"
            ).fetchone()
        return str(row[0])

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Until Moonraker answers with klippy_state ready (polling with a deadline)."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            for proc in (self._mcu, self._klippy, self._moonraker):
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"a stack process exited early; see {self.data / 'logs'}")
            try:
                self.api_key = self.read_api_key()
                state = self.get("/server/info")["klippy_state"]
                if state == "ready":
                    return
                last = f"klippy_state {state}"
            except (sqlite3.Error, TypeError, httpx.HTTPError, KeyError) as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise TimeoutError(
            f"Klipper stack not ready after {timeout_s} s: {last}; see {self.data / 'logs'}"
        )

    def klippy_state(self) -> str:
        return str(self.get("/server/info")["klippy_state"])

    def print_state(self) -> tuple[str, str]:
        stats = self.get("/printer/objects/query?print_stats")["status"]["print_stats"]
        return str(stats["state"]), str(stats["filename"])

    def set_host_temperature(self, celsius: float) -> None:
        """Klipper reads [temperature_sensor host_file] from this file; above 400 °C it
        shuts down. Written in place and fixed width: klippy keeps the file open."""
        path = self.data / "host_temp"
        text = f"{round(celsius * 1000):8d}\n".encode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.write(fd, text)
        finally:
            os.close(fd)

    # --- Moonraker's API, as a person or another program would use it --------------------

    def get(self, path: str) -> dict[str, Any]:
        resp = httpx.get(
            self.url + path, headers={"X-Api-Key": self.api_key}, timeout=10, trust_env=False
        )
        resp.raise_for_status()
        result = resp.json()["result"]
        assert isinstance(result, dict)
        return result

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.post(
            self.url + path,
            headers={"X-Api-Key": self.api_key},
            timeout=30,
            trust_env=False,
            **kwargs,  # type: ignore[arg-type]
        )

    def upload(self, name: str, text: str) -> None:
        resp = self.post(
            "/server/files/upload", files={"file": (name, text.encode(), "text/plain")}
        )
        resp.raise_for_status()

    def gcodes(self) -> list[str]:
        return sorted(p.name for p in (self.data / "gcodes").iterdir() if p.is_file())


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def moves_gcode(seconds: int) -> str:
    """G-code Klipper runs on this stack (no extruder, kinematics none): one G1 per second
    at F600 over 10 mm, plus M117 lines; the stubbed heater macros as a slicer writes them."""
    lines = ["; AutoPrintFarm test print", "M104 S200", "M140 S60", "G90", "G1 X0 Y0 F600"]
    for i in range(seconds):
        lines += [f"G1 X{10 * ((i + 1) % 2)} F600", f"M117 line {i}"]
    return "\n".join(lines) + "\nM117 done\n"
