"""A real MQTT broker for tests, on a free loopback port, that a test can stop and start.

Closed as a deployment runs it: no anonymous access; users and roles in a
dynamic-security file the test writes before the broker starts (the same file serves
Mosquitto's plugin and the embedded broker: same JSON, same PBKDF2-SHA512 hashes). One user,
``broker.username``, is the administrator the cloud logs in as: it administers the broker,
holds the cloud's role, and may also publish and read everything, so a test can stand in
for an agent or watch any topic with ``broker.client_kwargs()``.

Which broker: ``APF_TEST_MQTT_URL`` (a broker the caller runs, with its admin credentials in
the URL; tests cannot stop it), else ``APF_TEST_BROKER=embedded|mosquitto``, else Mosquitto
if installed, else the embedded broker (`apf broker run`) in its own process. The Mosquitto
that a machine may run on 1883 is never used or touched.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from cloud.broker.dynsec import ADMIN_ACLS, hash_password
from cloud.mqttauth.roles import cloud_role
from tests.support.ports import free_port, wait_for_listener

START_TIMEOUT_S = 15.0
ADMIN_USER = "apf-admin"
DYNSEC_PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"
# The extra role of the test administrator: publish and read anything, shared or not.
TEST_ALL_ACLS = (
    ("publishClientSend", "#"),
    ("publishClientReceive", "#"),
    ("subscribePattern", "#"),
    ("subscribePattern", "$share/+/#"),
)


@dataclass
class BrokerOptions:
    """Mosquitto-only set-ups a test may ask for instead of the dynamic-security one."""

    # Lines of a Mosquitto ACL file; requires a password file too.
    acl_lines: list[str] | None = None
    # username -> password, in a Mosquitto password file.
    users: dict[str, str] | None = None
    # Further mosquitto.conf lines (e.g. "max_queued_messages 0").
    extra_lines: list[str] | None = None
    # Queue every QoS 1 message for a slow client (a burst benchmark), on either broker.
    unbounded_queues: bool = False
    # (certificate, key): every listener speaks TLS only, and `url` is mqtts://.
    tls_files: tuple[Path, Path] | None = None
    # A second listener for agents and dashboards, as docs/deploy.md sets Mosquitto up:
    # `use_username_as_clientid`, so no login can take another's client id (`agent_port`).
    lan_listener: bool = False


def dynsec_file(path: Path, username: str, password: str, iterations: int = 101) -> None:
    """A dynamic-security file with one administrator (admin, cloud and test-all roles)."""
    digest, salt = hash_password(password, iterations=iterations)
    cloud = cloud_role()
    doc: dict[str, Any] = {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": True,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": [
            {
                "username": username,
                "password": digest,
                "salt": salt,
                "iterations": iterations,
                "roles": [
                    {"rolename": "admin"},
                    {"rolename": cloud.name},
                    {"rolename": "test-all"},
                ],
            }
        ],
        "groups": [],
        "roles": [
            {
                "rolename": "admin",
                "acls": [
                    {"acltype": a.type.value, "topic": a.topic, "allow": True, "priority": 0}
                    for a in ADMIN_ACLS
                ],
            },
            {"rolename": cloud.name, "acls": [a.as_command_fields() for a in cloud.acls]},
            {
                "rolename": "test-all",
                "acls": [
                    {"acltype": t, "topic": topic, "allow": True, "priority": 0}
                    for t, topic in TEST_ALL_ACLS
                ],
            },
        ],
    }
    path.write_text(json.dumps(doc, indent=1))
    path.chmod(0o600)


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
        self.username: str | None = ADMIN_USER
        self.password: str | None = secrets.token_urlsafe(18)
        # Where agents and dashboards connect (the cloud uses `port`).
        self.agent_port = self.port
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = workdir / f"{self.kind}.log"

    tls = False

    @property
    def url(self) -> str:
        """``mqtt://user:password@127.0.0.1:PORT``: the administrator's login."""
        scheme = "mqtts" if self.tls else "mqtt"
        if self.username is None:
            return f"{scheme}://{self.host}:{self.port}"
        return (
            f"{scheme}://{quote(self.username, safe='')}:{quote(self.password or '', safe='')}"
            f"@{self.host}:{self.port}"
        )

    def client_kwargs(self) -> dict[str, Any]:
        """hostname, port, username and password for an aiomqtt.Client."""
        return {
            "hostname": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
        }

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Write the files the broker reads (once: they survive a restart)."""

    def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError("broker already running")
        self._prepare()
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
        if self.options.users is not None:
            self.username = self.password = None  # the test logs in as its own users
        if self.options.lan_listener:
            self.agent_port = free_port()
        self.tls = self.options.tls_files is not None

    def _prepare(self) -> None:
        dynsec = self.workdir / "dynamic-security.json"
        if self.options.users is None and not dynsec.exists():
            assert self.username is not None and self.password is not None
            dynsec_file(dynsec, self.username, self.password)

    def _command(self) -> list[str]:
        conf = self.workdir / "mosquitto.conf"
        tls = []
        if self.options.tls_files is not None:
            cert, key = self.options.tls_files
            tls = [f"certfile {cert}", f"keyfile {key}"]
        lines = [
            "per_listener_settings false",
            f"listener {self.port} {self.host}",
            *tls,
            *(
                [
                    f"listener {self.agent_port} {self.host}",
                    "use_username_as_clientid true",
                    *tls,
                ]
                if self.agent_port != self.port
                else []
            ),
            # Persistence on, as a real deployment runs it: retained messages and persistent
            # sessions survive a broker restart.
            "persistence true",
            f"persistence_location {self.workdir}/",
            "autosave_interval 1",
            # Started as root, Mosquitto drops to the `mosquitto` user and then cannot write
            # its database into our temp dir; run it as whoever runs the tests.
            f"user {getpass.getuser()}",
            "allow_anonymous false",
        ]
        if self.options.users is not None:
            passwd = self.workdir / "passwd"
            passwd.write_text("".join(f"{user}:{pw}\n" for user, pw in self.options.users.items()))
            subprocess.run(["mosquitto_passwd", "-U", str(passwd)], check=True)
            lines.append(f"password_file {passwd}")
        else:
            lines += [
                f"plugin {DYNSEC_PLUGIN}",
                f"plugin_opt_config_file {self.workdir / 'dynamic-security.json'}",
            ]
        if self.options.acl_lines is not None:
            acl = self.workdir / "acl"
            acl.write_text("\n".join(self.options.acl_lines) + "\n")
            lines.append(f"acl_file {acl}")
        if self.options.unbounded_queues:
            # Mosquitto queues at most 1000 QoS 1 messages per client by default and drops
            # the rest (mosquitto.conf(5) max_queued_messages).
            lines.append("max_queued_messages 0")
        lines += self.options.extra_lines or []
        conf.write_text("\n".join(lines) + "\n")
        return ["mosquitto", "-c", str(conf)]


class EmbeddedBroker(TestBroker):
    """The project's own broker, `apf broker run`, in its own process."""

    kind = "embedded"
    supports_shared_subscriptions = True

    def __init__(self, workdir: Path, options: BrokerOptions | None = None) -> None:
        super().__init__(workdir)
        self.options = options or BrokerOptions()
        self.tls = self.options.tls_files is not None

    def _prepare(self) -> None:
        data = self.workdir / "data"
        if not (data / "dynamic-security.json").exists():
            data.mkdir(exist_ok=True)
            assert self.username is not None and self.password is not None
            dynsec_file(data / "dynamic-security.json", self.username, self.password)

    def _command(self) -> list[str]:
        apf = Path(sys.executable).with_name("apf")
        listen = ["--listen", f"{self.host}:{self.port}"]
        if self.options.tls_files is not None:
            cert, key = self.options.tls_files
            listen = [
                "--tls-listen",
                f"{self.host}:{self.port}",
                "--certfile",
                str(cert),
                "--keyfile",
                str(key),
            ]
        return [
            str(apf),
            "broker",
            "run",
            "--data-dir",
            str(self.workdir / "data"),
            *listen,
            *(["--max-queued", "1000000"] if self.options.unbounded_queues else []),
        ]


class ExternalBroker(TestBroker):
    """A broker the caller runs (APF_TEST_MQTT_URL); tests cannot stop it."""

    kind = "external"
    supports_restart = False

    def __init__(self, workdir: Path, url: str) -> None:
        self.workdir = workdir
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 1883
        self.username = parts.username
        self.password = parts.password
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


def make_broker(
    workdir: Path, options: BrokerOptions | None = None, kind: str | None = None
) -> TestBroker:
    url = os.environ.get("APF_TEST_MQTT_URL")
    if url and kind is None:
        return ExternalBroker(workdir, url)
    kind = kind or os.environ.get("APF_TEST_BROKER")
    if kind is None:
        kind = "mosquitto" if shutil.which("mosquitto") else "embedded"
    if kind == "mosquitto":
        return MosquittoBroker(workdir, options)
    if kind == "embedded":
        return EmbeddedBroker(workdir, options)
    raise ValueError(f"APF_TEST_BROKER must be 'mosquitto' or 'embedded', not {kind!r}")
