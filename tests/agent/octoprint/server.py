"""A real OctoPrint for tests: headless, on a free loopback port, with its virtual printer.

Installed by scripts/install-octoprint into .cache/octoprint-venv (its pinned dependencies
stay out of our .venv). Made non-interactive the way OctoPrint 1.11 allows it: a
config.yaml with the first-run wizard, online check and internet-reaching plugins off, an
admin user from OctoPrint's own CLI, and an application key written into the bundled
appkeys plugin's storage (data/appkeys/keys.yaml).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.ports import free_port, wait_for_listener

REPO_ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT_S = 60.0
USER = "apf"

# plugins._disabled: everything that would try to reach the internet (announcements,
# backup's plugin repository check, discovery's zeroconf, errortracking, health_check,
# pluginmanager's repository, softwareupdate, tracking).
_DISABLED_PLUGINS = (
    "announcements",
    "backup",
    "discovery",
    "errortracking",
    "health_check",
    "pluginmanager",
    "softwareupdate",
    "tracking",
)


def _config_yaml() -> str:
    disabled = ", ".join(_DISABLED_PLUGINS)
    # Virtual printer (plugins/virtual_printer/__init__.py settings): `throttle` is the
    # delay per line (default 10 ms); `simulated_errors` defaults to a resend-with-timeout
    # on line 105 that stalls a print for OctoPrint's communication timeout, so it is off;
    # `waitInterval`/`sendWait` only matter when idle.
    return f"""\
server:
  firstRun: false
  onlineCheck:
    enabled: false
  pluginBlacklist:
    enabled: false
serial:
  autoconnect: false
plugins:
  _disabled: [{disabled}]
  virtual_printer:
    enabled: true
    throttle: 0.001
    okAfterResend: true
    simulated_errors: []
    sendWait: false
"""


def install_octoprint() -> Path:
    """Path of the `octoprint` executable, installing it first if needed (idempotent)."""
    done = subprocess.run(
        [str(REPO_ROOT / "scripts" / "install-octoprint")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/install-octoprint failed:\n{done.stderr[-3000:]}")
    return REPO_ROOT / done.stdout.strip().splitlines()[-1]


class OctoPrintServer:
    """One OctoPrint process; `kill()` and `start()` keep its base folder, port and key."""

    __test__ = False

    def __init__(self, executable: Path, basedir: Path) -> None:
        self.executable = executable
        self.basedir = basedir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = secrets.token_hex(16)
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = basedir / "serve.log"
        self._prepare()

    def _prepare(self) -> None:
        self.basedir.mkdir(parents=True, exist_ok=True)
        (self.basedir / "config.yaml").write_text(_config_yaml())
        password = secrets.token_hex(8)
        add_user = ["user", "add", "--password", password, "--admin", USER]
        subprocess.run(
            [str(self.executable), "--basedir", str(self.basedir), *add_user],
            capture_output=True,
            timeout=120,
            check=True,
        )
        keys = self.basedir / "data" / "appkeys" / "keys.yaml"
        keys.parent.mkdir(parents=True, exist_ok=True)
        keys.write_text(f"{USER}:\n- app_id: autoprintfarm-tests\n  api_key: {self.api_key}\n")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        assert self._proc is None, "already running"
        command = [str(self.executable), "serve", "--basedir", str(self.basedir)]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        if os.geteuid() == 0:
            command.append("--iknowwhatimdoing")  # OctoPrint refuses to run as root otherwise
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for_listener("127.0.0.1", self.port, START_TIMEOUT_S, alive=self._proc)
        # Listening is not yet serving the API: wait for a keyed answer.
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if self.api("GET", "/api/version").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"OctoPrint did not answer; see {self._log}")
            time.sleep(0.05)  # polling a condition with a deadline

    def kill(self) -> None:
        """SIGKILL: OctoPrint and its virtual printer vanish mid-whatever."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    # --- what a person would do in OctoPrint's own UI -----------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-Api-Key": self.api_key}
        return httpx.request(
            method, self.url + path, headers=headers, timeout=30.0, trust_env=False, **kwargs
        )

    def state_text(self) -> str:
        return str(self.api("GET", "/api/job").json()["state"])

    def upload_and_print(self, gcode: Path, name: str) -> str:
        with gcode.open("rb") as fh:
            resp = self.api(
                "POST",
                "/api/files/local",
                files={"file": (name, fh, "application/octet-stream")},
                data={"print": "true"},
            )
        resp.raise_for_status()
        return str(resp.json()["files"]["local"]["path"])

    def disconnect_printer(self) -> None:
        self.api("POST", "/api/connection", json={"command": "disconnect"}).raise_for_status()


def write_gcode(path: Path, duration_s: float, *, step_s: float = 0.05) -> Path:
    """A G-code file that takes about `duration_s` on the virtual printer.

    The virtual printer sleeps for `G4 P<ms>` dwells (virtual.py `_gcode_G4`), which makes
    print time predictable; a few moves and temperatures make it look like a print.
    """
    steps = max(1, round(duration_s / step_s))
    lines = ["; test print", "G21", "G90", "M82", "M104 S0", "G28", "G1 Z0.3 F3000"]
    for i in range(steps):
        lines.append(f"G1 X{10 + i % 50} Y{10 + i % 40} F6000")
        lines.append(f"G4 P{round(step_s * 1000)}")
    lines += ["M104 S0", "M140 S0", "M84"]
    path.write_text("\n".join(lines) + "\n")
    return path
