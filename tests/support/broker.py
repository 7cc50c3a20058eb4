"""A real MQTT broker for tests, on a free loopback port, that a test can stop and start.

Order of preference: ``APF_TEST_MQTT_URL`` (a broker the caller runs; it cannot be stopped
by tests), else a Mosquitto process if ``mosquitto`` is on PATH, else the embedded Python
broker (amqtt) in its own process. The Mosquitto that a machine may run on 1883 is never
used or touched.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.ports import free_port, wait_for_listener

START_TIMEOUT_S = 15.0


@dataclass
class BrokerOptions:
    """Mosquitto-only features a test may ask for."""

    # Lines of a Mosquitto ACL file; requires a password file too.
    acl_lines: list[str] | None = None
    # username -> password; with it anonymous access is refused.
    users: dict[str, str] | None = None
    # Further mosquitto.conf lines (e.g. "max_queued_messages 0").
    extra_lines: list[str] | None = None


class TestBroker:
    __test__ = False  # a helper, not a test class
    """One broker process. `url` stays the same across stop()/start()."""

    kind: str = "abstract"
    supports_restart = True
    supports_acl = False
    supports_shared_subscriptions = False

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.host = "127.0.0.1"
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = workdir / f"{self.kind}.log"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError("broker already running")
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                self._command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        try:
            wait_for_listener(self.host, self.port, START_TIMEOUT_S, alive=self._proc)
        except Exception:
            self.stop()
            raise RuntimeError(f"{self.kind} did not start; log:\n{self.log_text()}") from None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def kill(self) -> None:
        """Stop abruptly, like a crash or a power cut (no goodbye to clients)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_text(self) -> str:
        try:
            return self._log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


class MosquittoBroker(TestBroker):
    kind = "mosquitto"
    supports_acl = True
    supports_shared_subscriptions = True

    def __init__(self, workdir: Path, options: BrokerOptions | None = None) -> None:
        super().__init__(workdir)
        self.options = options or BrokerOptions()

    def _command(self) -> list[str]:
        conf = self.workdir / "mosquitto.conf"
        lines = [
            f"listener {self.port} {self.host}",
            # Persistence on, as a real deployment runs it: retained messages and persistent
            # sessions survive a broker restart.
            "persistence true",
            f"persistence_location {self.workdir}/",
            "autosave_interval 1",
            # Started as root, Mosquitto drops to the `mosquitto` user and then cannot write
            # its database into our temp dir; run it as whoever runs the tests.
            f"user {getpass.getuser()}",
        ]
        if self.options.users is not None:
            passwd = self.workdir / "passwd"
            passwd.write_text("".join(f"{user}:{pw}\n" for user, pw in self.options.users.items()))
            subprocess.run(["mosquitto_passwd", "-U", str(passwd)], check=True)
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        if self.options.acl_lines is not None:
            acl = self.workdir / "acl"
            acl.write_text("\n".join(self.options.acl_lines) + "\n")
            lines.append(f"acl_file {acl}")
        lines += self.options.extra_lines or []
        conf.write_text("\n".join(lines) + "\n")
        return ["mosquitto", "-c", str(conf)]


class AmqttBroker(TestBroker):
    kind = "amqtt"

    def _command(self) -> list[str]:
        conf = self.workdir / "amqtt.yaml"
        conf.write_text(
            "listeners:\n"
            "  default:\n"
            "    type: tcp\n"
            f"    bind: {self.host}:{self.port}\n"
            "plugins:\n"
            "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
            "    allow_anonymous: true\n"
        )
        amqtt = Path(sys.executable).with_name("amqtt")
        return [str(amqtt), "-c", str(conf)]


class ExternalBroker(TestBroker):
    """A broker the caller runs (APF_TEST_MQTT_URL); tests cannot stop it."""

    kind = "external"
    supports_restart = False

    def __init__(self, workdir: Path, url: str) -> None:
        self.workdir = workdir
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 1883
        self._proc = None
        self._log = workdir / "external.log"

    def start(self) -> None:
        wait_for_listener(self.host, self.port, START_TIMEOUT_S)

    def stop(self) -> None:
        raise RuntimeError("an external broker (APF_TEST_MQTT_URL) cannot be stopped by tests")

    kill = stop

    @property
    def running(self) -> bool:
        return True


def make_broker(workdir: Path, options: BrokerOptions | None = None) -> TestBroker:
    url = os.environ.get("APF_TEST_MQTT_URL")
    if url:
        return ExternalBroker(workdir, url)
    if shutil.which("mosquitto") and os.environ.get("APF_TEST_BROKER") != "amqtt":
        return MosquittoBroker(workdir, options)
    return AmqttBroker(workdir)
